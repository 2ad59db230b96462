# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bulk WebOps-shaped rows for the benchmark, encrypted under one key.

The schema is tests/support/webops_db.py's (real table and column names). Tokens are made in
worker processes (``fork``); PostgreSQL receives them through COPY, SQLite through executemany
in one transaction. Every non-empty token value is under the key given to ``seed``, so a
rotation has real work on every one of them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import string

from cryptography.fernet import Fernet

# Share of the benchmark's rows per token table (sums to 1). auth_user rows (one per 2FA row,
# the relation is one-to-one) come on top and hold no token.
TABLE_SHARES = (
    ('core_webhook', 0.35),
    ('databases', 0.25),
    ('core_github_connection', 0.20),
    ('core_two_factor_auth', 0.05),
    ('core_huggingface_connection', 0.05),
    ('core_google_connection', 0.05),
    ('automation_data_source_credentials', 0.05),
)

COLUMNS = {
    'auth_user': ('id', 'username'),
    'core_two_factor_auth': ('id', 'user_id', 'secret', 'is_enabled', 'backup_codes'),
    'core_webhook': ('id', 'user_id', 'name', 'secret', 'is_active', 'is_deleted', 'deleted_at'),
    'core_github_connection': ('id', 'user_id', 'github_user_id', 'username', 'access_token', 'refresh_token', 'is_deleted'),
    'core_huggingface_connection': ('id', 'user_id', 'username', 'access_token', 'is_deleted'),
    'core_google_connection': ('id', 'user_id', 'email', 'access_token', 'refresh_token', 'id_token'),
    'databases': ('id', 'name', 'db_type', 'host', 'username', 'password', 'api_key', 'is_deleted'),
    'automation_data_source_credentials': ('id', 'name', 'credentials'),
}

CHUNK = 20000
_LETTERS = string.ascii_letters + string.digits
_BASE32 = string.ascii_uppercase + '234567'

# Set in the parent before the pool forks; workers inherit it (the key never crosses a pipe).
_FERNET = None


def plan(rows: int) -> dict:
    """Rows per table for a total of ``rows`` token-table rows (largest share absorbs rounding)."""
    counts = {table: int(rows * share) for table, share in TABLE_SHARES}
    counts['core_webhook'] += rows - sum(counts.values())
    counts['auth_user'] = max(counts['core_two_factor_auth'], 1)
    return counts


def _text(rng: random.Random, alphabet: str, length: int) -> str:
    return ''.join(rng.choices(alphabet, k=length))


def _rows(table: str, start: int, count: int, users: int) -> list:
    """Rows ``start``..``start+count-1`` of ``table`` as tuples in COLUMNS order."""
    rng = random.Random('%s:%d' % (table, start))
    enc = _FERNET.encrypt
    out = []
    for i in range(start, start + count):
        user = 1 + i % users
        if table == 'auth_user':
            out.append((i, 'user%07d' % i))
        elif table == 'core_two_factor_auth':
            out.append((i, i, enc(_text(rng, _BASE32, 32).encode()).decode(), i % 5 != 0, '[]'))
        elif table == 'core_webhook':
            deleted = i % 10 == 0
            out.append((i, user, 'Deploy hook %d' % i, enc(rng.randbytes(32).hex().encode()).decode(), i % 3 != 0, deleted,
                        '2026-01-01 00:00:00+00' if deleted else None))
        elif table == 'core_github_connection':
            out.append((i, user, 1000 + i, 'gh%d' % i, enc(('gho_' + _text(rng, _LETTERS, 36)).encode()).decode(),
                        '' if i % 2 else None, i % 6 == 0))
        elif table == 'core_huggingface_connection':
            out.append((i, user, 'hf%d' % i, enc(('hf_' + _text(rng, _LETTERS, 34)).encode()).decode(), i % 7 == 0))
        elif table == 'core_google_connection':
            out.append((i, user, 'u%d@example.org' % i, enc(('ya29.' + _text(rng, _LETTERS, 160)).encode()).decode(),
                        enc(('1//' + _text(rng, _LETTERS, 100)).encode()).decode() if i % 2 else '',
                        enc(('eyJ' + _text(rng, _LETTERS + '.', 400)).encode()).decode() if i % 3 else ''))
        elif table == 'databases':
            api_key = '' if i % 4 == 1 else enc(('sk-' + _text(rng, _LETTERS, 40)).encode()).decode()
            out.append((i, 'db%d' % i, 'postgresql', 'db%d.internal' % i, 'app%d' % i,
                        enc(_text(rng, _LETTERS + string.punctuation, 24).encode()).decode(), api_key or None, i % 5 == 0))
        elif table == 'automation_data_source_credentials':
            document = {
                'api_key': enc(('key-' + _text(rng, _LETTERS, 32)).encode()).decode(),
                'username': 'svc%d' % i,
                'port': 5432,
                'enabled': i % 2 == 0,
                'refresh_token': '' if i % 2 else enc(('rt-' + _text(rng, _LETTERS, 48)).encode()).decode(),
                'client_secret': enc(('cs-' + _text(rng, _LETTERS, 40)).encode()).decode() if i % 3 else None,
            }
            out.append((i, 'source %d' % i, json.dumps(document)))
        else:
            raise ValueError('no generator for table %s' % table)
    return out


def _copy_field(value) -> str:
    if value is None:
        return '\\N'
    if value is True:
        return 't'
    if value is False:
        return 'f'
    text = str(value)
    if '\\' in text or '\t' in text or '\n' in text or '\r' in text:
        text = text.replace('\\', '\\\\').replace('\t', '\\t').replace('\n', '\\n').replace('\r', '\\r')
    return text


def _task(args: tuple):
    table, start, count, users, as_copy = args
    rows = _rows(table, start, count, users)
    if not as_copy:
        return table, rows
    return table, ''.join('\t'.join(_copy_field(v) for v in row) + '\n' for row in rows).encode('utf-8')


def _tasks(counts: dict, as_copy: bool):
    users = counts['auth_user']
    for table in ['auth_user'] + [t for t, _share in TABLE_SHARES]:
        for start in range(1, counts[table] + 1, CHUNK):
            yield table, start, min(CHUNK, counts[table] - start + 1), users, as_copy


def sample_tokens(key: bytes, rows: int = 20000) -> list:
    """Tokens drawn from the same generators, in the same mix, for the crypto ceiling."""
    global _FERNET  # pylint: disable=global-statement
    _FERNET = Fernet(key)
    counts = plan(rows)
    tokens = []
    try:
        for table, _share in TABLE_SHARES:
            for row in _rows(table, 1, counts[table], counts['auth_user']):
                for value in row:
                    if isinstance(value, str) and value.startswith('gAAAAA'):
                        tokens.append(value)
                    elif isinstance(value, str) and value.startswith('{'):
                        tokens.extend(v for v in json.loads(value).values() if isinstance(v, str) and v.startswith('gAAAAA'))
    finally:
        _FERNET = None
    return tokens


def seed(url: str, key: bytes, rows: int, processes: int | None = None) -> dict:
    """Fill an empty WebOps schema at ``url`` with ``rows`` token-table rows under ``key``."""
    global _FERNET  # pylint: disable=global-statement
    _FERNET = Fernet(key)
    counts = plan(rows)
    backend = 'postgresql' if url.startswith(('postgresql://', 'postgres://')) else 'sqlite'
    ctx = multiprocessing.get_context('fork')
    try:
        with ctx.Pool(processes or os.cpu_count()) as pool:
            results = pool.imap(_task, _tasks(counts, backend == 'postgresql'), chunksize=1)
            if backend == 'postgresql':
                _load_postgresql(url, results, counts)
            else:
                _load_sqlite(url[len('sqlite:///'):], results)
    finally:
        _FERNET = None
    return counts


def _load_postgresql(url: str, results, counts: dict) -> None:
    import psycopg
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            for table, data in results:
                with cur.copy('COPY %s (%s) FROM STDIN' % (table, ', '.join(COLUMNS[table]))) as copy:
                    copy.write(data)
            for table in COLUMNS:
                if counts.get(table):
                    cur.execute("SELECT setval(pg_get_serial_sequence('%s', 'id'), %d)" % (table, counts[table]))
        conn.commit()
        conn.autocommit = True
        conn.execute('VACUUM ANALYZE')


def _load_sqlite(path: str, results) -> None:
    import sqlite3
    conn = sqlite3.connect(path)
    try:
        conn.execute('PRAGMA synchronous = OFF')
        for table, rows in results:
            columns = COLUMNS[table]
            conn.executemany('INSERT INTO %s (%s) VALUES (%s)' % (table, ', '.join(columns), ', '.join('?' * len(columns))), rows)
        conn.commit()
        conn.execute('ANALYZE')
        conn.commit()
    finally:
        conn.close()


# ---------------------------------------------------------------- text columns outside the profile

# Two tables of an application's ordinary text (names, e-mail addresses, URLs, notes, JSON settings),
# 10 text columns each, ``rows`` rows per table: what discovery has to read besides the token columns.
# One value in TOKEN_EVERY of the notes column holds a token under the seeding key (a hand-encrypted value).
OTHER_TABLES = {
    'bench_profile': ('display_name', 'email', 'website', 'bio', 'city', 'street', 'phone', 'locale', 'timezone', 'notes'),
    'bench_activity': ('action', 'path', 'user_agent', 'referrer', 'ip', 'message', 'tags', 'status', 'payload', 'settings'),
}
TOKEN_EVERY = 1000
_WORDS = ('alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec '
          'romeo sierra tango uniform victor whiskey xray yankee zulu deploy server backup cache queue worker '
          'release update config domain certificate ssl renew panel user login').split()


def other_columns() -> int:
    return sum(len(columns) for columns in OTHER_TABLES.values())


def _sentence(rng: random.Random, low: int, high: int) -> str:
    return ' '.join(rng.choice(_WORDS) for _word in range(rng.randint(low, high))).capitalize() + '.'


def _other_row(table: str, pk: int, rng: random.Random, fernet) -> tuple:
    if table == 'bench_profile':
        name = '%s %s' % (rng.choice(_WORDS).title(), rng.choice(_WORDS).title())
        notes = fernet.encrypt(b'hand-encrypted %d' % pk).decode() if pk % TOKEN_EVERY == 0 else _sentence(rng, 5, 30)
        return (pk, name, '%s.%d@example.org' % (name.split()[0].lower(), pk), 'https://%s.example.com/' % rng.choice(_WORDS),
                _sentence(rng, 10, 40), rng.choice(_WORDS).title(), '%d %s Street' % (rng.randint(1, 999), rng.choice(_WORDS).title()),
                '+1-555-%04d' % rng.randint(0, 9999), rng.choice(('en-US', 'de-DE', 'fr-FR')), 'Europe/%s' % rng.choice(_WORDS).title(),
                notes)
    settings = json.dumps({'theme': rng.choice(('dark', 'light')), 'page_size': rng.randint(10, 100),
                           'notify': [rng.choice(_WORDS) for _word in range(3)]})
    return (pk, rng.choice(('login', 'deploy', 'backup', 'restart')), '/%s/%s/%d' % (rng.choice(_WORDS), rng.choice(_WORDS), pk),
            'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/%d.0' % rng.randint(90, 130),
            'https://panel.example.org/%s' % rng.choice(_WORDS), '10.%d.%d.%d' % (rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)),
            _sentence(rng, 8, 25), ','.join(rng.choice(_WORDS) for _word in range(3)), rng.choice(('ok', 'failed', 'pending')),
            json.dumps({'id': pk, 'detail': _sentence(rng, 4, 12)}), settings)


def seed_other_columns(url: str, key: bytes, rows: int) -> int:
    """Create OTHER_TABLES at ``url`` with ``rows`` rows each (on PostgreSQL the last two columns of
    bench_activity are json and jsonb); returns how many of their values are tokens."""
    fernet = Fernet(key)
    rng = random.Random(11)
    postgres = url.startswith(('postgresql://', 'postgres://'))
    if postgres:
        import psycopg
        conn = psycopg.connect(url)
    else:
        import sqlite3
        conn = sqlite3.connect(url[len('sqlite:///'):])
    try:
        for table, columns in OTHER_TABLES.items():
            types = ['text'] * len(columns)
            if postgres and table == 'bench_activity':
                types[-2:] = ['json', 'jsonb']
            conn.execute('CREATE TABLE %s (id integer PRIMARY KEY, %s)' % (
                table, ', '.join('%s %s' % (column, kind) for column, kind in zip(columns, types))))
            names = ('id',) + columns
            for start in range(1, rows + 1, CHUNK):
                batch = [_other_row(table, pk, rng, fernet) for pk in range(start, min(start + CHUNK, rows + 1))]
                if postgres:
                    with conn.cursor().copy('COPY %s (%s) FROM STDIN' % (table, ', '.join(names))) as copy:
                        for row in batch:
                            copy.write_row(row)
                else:
                    conn.executemany('INSERT INTO %s (%s) VALUES (%s)' % (table, ', '.join(names), ', '.join('?' * len(names))), batch)
        conn.commit()
        if postgres:
            conn.autocommit = True
            conn.execute('VACUUM ANALYZE')
        else:
            conn.execute('ANALYZE')
            conn.commit()
    finally:
        conn.close()
    return rows // TOKEN_EVERY
