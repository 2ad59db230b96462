# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Key rotation speed: the app's per-row way, the machine's crypto ceiling, and fernet_rotate.

For each backend (a throwaway PostgreSQL cluster, a SQLite file) and each size, one run:
  (a) baseline: shaped like the app's rotate command. Read all rows, decrypt with the old key,
      encrypt with the new one, one UPDATE per row, each in its own transaction (autocommit).
      It covers the same token columns as (c), so both do the same work.
  (b) ceiling: MultiFernet([new, old]).rotate() per second in one process on tokens of the
      same mix, times the number of workers. Pure crypto, no database.
  (c) fernet_rotate: engine.rotate(), the code the module runs, in a fresh child process that
      does nothing else, so its getrusage() peak RSS (self, and its workers) is the rotation's;
      CPU time of that process, its workers and the PostgreSQL server shows where the time went.
Each of (a) and (c) gets its own copy of the same seeded database; (c) is then checked: the
digest of all plaintexts equals the seeded one and every value opens with the new key.

Then the maintenance window (--window-tokens, default 300000; 0 skips it): rotate_keys.yml runs
against a SQLite database of that many tokens, with a throwaway inventory outside this checkout,
and the play's own figures are set side by side: how long the units were stopped (step 5 to
step 6) and how long the fernet_rotate module took on the same rows. Target: window <= 1.5 x module.
--window-only runs just that.

    .venv/bin/python benchmarks/run.py [--rows 100000,1000000] [--backends postgresql,sqlite]
        [--workers N] [--batch-size N] [--skip-baseline-above N] [--pg-fsync on|off]
        [--collections-path DIR] [--profile] [--no-verify]

Keys are generated per run and never printed; the child gets them on stdin.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# The child imports the engine from --collections-path (default: this checkout), e.g. to compare a patched engine.
sys.path.insert(0, os.environ.get('WEBOPS_BENCH_COLLECTIONS') or os.path.join(REPO, 'collections'))
# The tests' support package: the WebOps schema's reference implementation and the throwaway PostgreSQL.
sys.path.insert(0, os.path.join(REPO, 'tests'))

import cryptography  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.fernet import Fernet, MultiFernet  # noqa: E402  pylint: disable=wrong-import-position

import datagen  # noqa: E402  pylint: disable=wrong-import-position
from support import webops_db  # noqa: E402  pylint: disable=wrong-import-position

TARGET_C_OVER_A = 5.0
TARGET_C_OVER_B = 0.7
TARGET_RSS_MB = 200.0
TARGET_WINDOW_OVER_MODULE = 1.5
TARGET_D_OVER_C = 0.5  # discovery over the profile plus 20 other text columns, against fernet_rotate on that database


# ---------------------------------------------------------------- machine

def engine_version(collections: str | None) -> str:
    """Short digest of the engine's source (engine.py, _engine/, _db/, columns.py), so figures name the code they
    measured. An older checkout has _db.py (or db.py) instead of the _db/ package, and no _engine/."""
    import hashlib
    base = os.path.join(os.path.abspath(collections) if collections else os.path.join(REPO, 'collections'),
                        'ansible_collections', 'webops', 'encryption', 'plugins', 'module_utils')
    # The order of an older checkout's files is kept, so its digest stays the one its figures carry.
    single = [name for name in ('_db.py', 'db.py') if os.path.exists(os.path.join(base, name))]
    names = ['engine.py'] + single[:1] + ['columns.py']
    names += [name for name in ('_errors.py',) if os.path.exists(os.path.join(base, name))]
    for package in ('_engine', '_db'):
        if os.path.isdir(os.path.join(base, package)):
            names += [os.path.join(package, name) for name in sorted(os.listdir(os.path.join(base, package)))
                      if name.endswith('.py')]
    digest = hashlib.sha256()
    for name in names:
        with open(os.path.join(base, name), 'rb') as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:12]


def machine_info(pg_version: str | None) -> dict:
    cpu = platform.processor() or 'unknown'
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as handle:
            for line in handle:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024 ** 3
    try:
        import psycopg
        psycopg_version = psycopg.__version__
    except ImportError:
        psycopg_version = None
    os_name = platform.platform()
    try:
        with open('/etc/os-release', encoding='utf-8') as handle:
            for line in handle:
                if line.startswith('PRETTY_NAME='):
                    os_name = line.split('=', 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'cpu': cpu,
        'cpus': os.cpu_count(),
        'memory_gb': round(mem_gb, 1),
        'os': os_name,
        'kernel': platform.release(),
        'python': platform.python_version(),
        'cryptography': cryptography.__version__,
        'psycopg': psycopg_version,
        'sqlite': sqlite3.sqlite_version,
        'postgresql': pg_version,
    }


# ---------------------------------------------------------------- backends

class SqliteBackend:
    """Seeded template file, copied for each measurement. Journal mode is SQLite's default
    (DELETE, synchronous=FULL), which is what Django uses unless told otherwise."""

    name = 'sqlite'

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='webops-bench-sqlite-')
        self.version = 'SQLite ' + sqlite3.sqlite_version
        self.template = None

    def new_template(self, label: str) -> str:
        self.template = os.path.join(self.dir, '%s.sqlite3' % label)
        return 'sqlite:///' + self.template

    def clone(self, label: str) -> str:
        path = os.path.join(self.dir, '%s.sqlite3' % label)
        shutil.copyfile(self.template, path)
        return 'sqlite:///' + path

    def settle(self) -> None:
        os.sync()

    def server_cpu_seconds(self) -> float:
        return 0.0  # SQLite works inside the rotating process: its CPU is counted there

    def drop(self, url: str) -> None:
        path = url[len('sqlite:///'):]
        for suffix in ('', '-journal', '-wal', '-shm'):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresBackend:
    """A throwaway cluster (tests/support/pg_cluster.py). The test helper turns fsync off for
    speed; the benchmark restarts it with the server's durable defaults unless --pg-fsync off,
    because a per-row commit's cost is mostly the WAL flush a production server does."""

    name = 'postgresql'

    def __init__(self, fsync: bool):
        from support.pg_cluster import PgCluster
        self.cluster = PgCluster().start()
        self.fsync = fsync
        if fsync:
            self.cluster.stop()
            options = '-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=100' % (self.cluster.port, self.cluster.sockdir)
            # pylint: disable-next=protected-access
            self.cluster._run([os.path.join(self.cluster.bindir, 'pg_ctl'), '-D', self.cluster.datadir, '-o', options,
                               '-l', self.cluster.log, '-w', 'start'])
        with self.cluster.admin() as conn:
            self.version = conn.execute('SHOW server_version').fetchone()[0]
            self.settings = {name: conn.execute('SHOW %s' % name).fetchone()[0]
                             for name in ('fsync', 'synchronous_commit', 'shared_buffers', 'wal_level')}
        self.version = 'PostgreSQL ' + self.version
        self.template = None

    def new_template(self, label: str) -> str:
        self.template = self.cluster.create_database(label)
        return self.cluster.url(self.template)

    def clone(self, label: str) -> str:
        with self.cluster.admin() as conn:
            conn.execute('CREATE DATABASE "%s" TEMPLATE "%s" STRATEGY FILE_COPY' % (label, self.template))
        return self.cluster.url(label)

    def settle(self) -> None:
        with self.cluster.admin() as conn:
            conn.execute('CHECKPOINT')

    def server_cpu_seconds(self) -> float:
        """CPU time of the whole server: the postmaster, its live children, and (cutime/cstime)
        the children it has reaped, such as the backend of a finished connection."""
        with open(os.path.join(self.cluster.datadir, 'postmaster.pid'), encoding='ascii') as handle:
            postmaster = int(handle.readline())
        ticks = 0
        for pid, ppid, fields in _proc_stats():
            if pid == postmaster:
                ticks += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
            elif ppid == postmaster:
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf('SC_CLK_TCK')

    def drop(self, url: str) -> None:
        self.cluster.drop_database(url.rsplit('/', 1)[1])

    def close(self) -> None:
        self.cluster.destroy()


# ---------------------------------------------------------------- (b) ceiling

def measure_ceiling(old: bytes, new: bytes, workers: int, seconds: float) -> dict:
    tokens = datagen.sample_tokens(old)
    rotator = MultiFernet([Fernet(new), Fernet(old)])
    done = 0
    cpu = time.process_time()
    start = time.perf_counter()
    while True:
        for token in tokens:
            rotator.rotate(token.encode('ascii'))
        done += len(tokens)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    cpu = time.process_time() - cpu
    per_process = done / elapsed
    return {'tokens_per_s_one_process': per_process, 'workers': workers, 'tokens_per_s': per_process * workers,
            'tokens_per_cpu_s': done / cpu, 'mean_token_chars': sum(map(len, tokens)) / len(tokens)}


# ---------------------------------------------------------------- (a) baseline

def _token_columns() -> dict:
    """{table: [(column, kind), ...]} from the reference implementation's list (webops_db.TOKEN_COLUMNS)."""
    tables = {}
    for table, column, kind in webops_db.TOKEN_COLUMNS:
        if table in datagen.COLUMNS:
            tables.setdefault(table, []).append((column, kind))
    return tables


def run_baseline(url: str, old: bytes, new: bytes, limits: dict) -> dict:
    """Per-row rotation the way the app's command does it, over ``limits[table]`` rows per table."""
    old_f, new_f = Fernet(old), Fernet(new)
    pg = url.startswith('postgresql://')
    if pg:
        import psycopg
        conn = psycopg.connect(url, autocommit=True)
        mark = '%s'
    else:
        conn = sqlite3.connect(url[len('sqlite:///'):], isolation_level=None)  # autocommit: one transaction per UPDATE
        mark = '?'

    def rotate(value):
        if not value:
            return value, 0
        return new_f.encrypt(old_f.decrypt(value.encode('ascii'))).decode('ascii'), 1

    rows = tokens = 0
    start = time.perf_counter()
    try:
        for table, columns in _token_columns().items():
            names = [column for column, _kind in columns]
            cur = conn.cursor()
            cur.execute('SELECT id, %s FROM %s ORDER BY id LIMIT %d' % (', '.join(names), table, limits[table]))
            fetched = cur.fetchall()
            sets = ', '.join('%s = %s%s' % (column, mark, '::jsonb' if pg and kind == 'json' else '') for column, kind in columns)
            update = 'UPDATE %s SET %s WHERE id = %s' % (table, sets, mark)
            for row in fetched:
                values = []
                for (_column, kind), value in zip(columns, row[1:]):
                    if kind == 'json':
                        document = value if isinstance(value, dict) else json.loads(value)
                        for name, item in document.items():
                            if webops_db.sensitive_json_key(name, item) and isinstance(item, str):
                                document[name], done = rotate(item)
                                tokens += done
                        values.append(json.dumps(document))
                    else:
                        value, done = rotate(value)
                        tokens += done
                        values.append(value)
                cur.execute(update, values + [row[0]])
                rows += 1
    finally:
        conn.close()
    return {'rows': rows, 'tokens': tokens, 'seconds': time.perf_counter() - start}


# ---------------------------------------------------------------- (c) engine, in a child process

def child_main() -> int:
    """Runs only the rotation; prints one JSON line with timings, counts and getrusage figures."""
    params = json.loads(sys.stdin.readline())
    from ansible_collections.webops.encryption.plugins.module_utils import columns, engine, fernet
    # engine.connect is the public way; an engine from before it existed (--collections-path) had db.connect.
    connect = getattr(engine, 'connect', None) or importlib.import_module(
        'ansible_collections.webops.encryption.plugins.module_utils.db').connect
    new_key = fernet.parse_key(params['new_key'], 'ENCRYPTION_KEY')
    old_keys = [fernet.parse_key(text, 'OLD_ENCRYPTION_KEY') for text in params['old_keys']]
    specs = columns.resolve(profile='webops')
    profiler = None
    if params.get('profile'):
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    # Where the rotation is when its RSS peaks: the scan (before the first committed batch) or a column's write pass.
    phase = ['scan']
    peak = {'mb': 0.0, 'phase': None, 'at_s': 0.0}
    stop = threading.Event()
    page_mb = os.sysconf('SC_PAGE_SIZE') / 1024.0 ** 2

    def progress(table, column, _rows_done, _rows_total):
        phase[0] = '%s.%s' % (table, column)

    def sample():
        while not stop.wait(0.01):
            with open('/proc/self/statm', encoding='ascii') as handle:
                rss = int(handle.read().split()[1]) * page_mb
            if rss > peak['mb']:
                peak.update(mb=rss, phase=phase[0], at_s=time.perf_counter() - start)

    start = time.perf_counter()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with connect(params['url']) as adapter:
        if params.get('mode') == 'discover':
            # What rotate_keys step 1 runs: every other text column, with the keys it holds.
            result = engine.discover(adapter, specs, [('old', old_keys[0]), ('new', new_key)], batch_size=params['batch_size'],
                                     progress=progress)
        else:
            result = engine.rotate(adapter, specs, new_key, old_keys, batch_size=params['batch_size'], workers=params['workers'],
                                   progress=progress)
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(params['profile'])
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open('/proc/self/status', encoding='ascii') as handle:
        hwm_kb = [int(line.split()[1]) for line in handle if line.startswith('VmHWM:')][0]
    print(json.dumps({
        'seconds': seconds,
        'totals': result.get('totals'),
        'changed': result.get('changed'),
        # Linux reports ru_maxrss in KiB. RUSAGE_CHILDREN gives the largest single reaped worker.
        'maxrss_self_mb': own.ru_maxrss / 1024.0,
        'maxrss_worker_mb': kids.ru_maxrss / 1024.0,
        'cpu_self_s': own.ru_utime + own.ru_stime,
        'cpu_workers_s': kids.ru_utime + kids.ru_stime,
        'rss_peak_sampled': peak,
        'vmhwm_mb': hwm_kb / 1024.0,  # this image's own high-water mark, a cross-check of ru_maxrss
    }))
    return 0


def _proc_stats():
    """(pid, ppid, fields after the command name) of every process; fields[11:15] are utime..cstime."""
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry, encoding='ascii', errors='replace') as handle:
                    fields = handle.read().rsplit(')', 1)[1].split()
                yield int(entry), int(fields[1]), fields
            except (OSError, ValueError, IndexError):
                continue


def _tree_pss_kb(root: int, include_root: bool = True) -> int:
    """Proportional set size of ``root``'s descendants, and of ``root`` itself if ``include_root``
    (shared pages counted once overall)."""
    parents = {pid: ppid for pid, ppid, _fields in _proc_stats()}
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    if not include_root:
        tree.discard(root)
    total = 0
    for pid in tree:
        try:
            with open('/proc/%d/smaps_rollup' % pid, encoding='ascii') as handle:
                for line in handle:
                    if line.startswith('Pss:'):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


class Launcher:
    """Starts each engine child from a small process made before the benchmark grows.

    Linux keeps a process's peak RSS across execve (the old image's high-water mark stays in the
    process's accounting), so a child started straight from this process would report this
    process's own peak, hundreds of MB once a million rows were seeded and digested, as its
    ru_maxrss. The launcher is started while this process is small and forks a fresh child per run.
    """

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--launcher'], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def run(self, params: dict, env: dict) -> dict:
        self.proc.stdin.write(json.dumps({'params': params, 'env': env}) + '\n')
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError('the launcher process died')
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def launcher_main() -> int:
    for line in sys.stdin:
        request = json.loads(line)
        env = dict(os.environ)
        env.update(request['env'])
        done = subprocess.run([sys.executable, os.path.abspath(__file__), '--child'], input=json.dumps(request['params']) + '\n',
                              capture_output=True, text=True, env=env, check=False)
        print(json.dumps({'returncode': done.returncode, 'stdout': done.stdout, 'stderr': done.stderr}), flush=True)
    return 0


def run_engine(launcher: Launcher, url: str, old: bytes, new: bytes, args, profile: str | None, mode: str = 'rotate') -> dict:
    params = {'url': url, 'new_key': new.decode('ascii'), 'old_keys': [old.decode('ascii')],
              'batch_size': args.batch_size, 'workers': args.workers, 'profile': profile, 'mode': mode}
    env = {'WEBOPS_BENCH_COLLECTIONS': os.path.abspath(args.collections_path)} if args.collections_path else {}
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.05):
            peak[0] = max(peak[0], _tree_pss_kb(launcher.proc.pid, include_root=False))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        reply = launcher.run(params, env)
    finally:
        stop.set()
        sampler.join()
    if reply['returncode'] != 0:
        raise RuntimeError('engine child failed (rc=%d):\n%s' % (reply['returncode'], reply['stderr'][-4000:]))
    result = json.loads(reply['stdout'].strip().splitlines()[-1])
    result['peak_tree_pss_mb'] = peak[0] / 1024.0
    return result


# ---------------------------------------------------------------- verification

def count_tokens(url: str) -> int:
    return sum(1 for _t, _c, _pk, _name, value in webops_db.iter_values(url) if value)


# ---------------------------------------------------------------- one measurement

def measure(backend, launcher: Launcher, rows: int, args, log) -> dict:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    label = 'bench_%d' % rows
    template_url = backend.new_template(label + '_seed')
    webops_db.create_schema(template_url)
    start = time.perf_counter()
    counts = datagen.seed(template_url, old, rows)
    log('  seeded %d rows in %.1f s' % (rows, time.perf_counter() - start))
    other_tokens = 0
    if args.discovery:
        start = time.perf_counter()
        other_tokens = datagen.seed_other_columns(template_url, old, rows)
        log('  seeded %d other text columns, %d rows per table, in %.1f s' % (datagen.other_columns(), rows, time.perf_counter() - start))
    tokens = count_tokens(template_url)
    seeded_digest = None if args.no_verify else webops_db.digest(template_url, [old], include_unknown=False)
    entry = {'backend': backend.name, 'rows': rows, 'tokens': tokens, 'table_rows': counts}

    # (a) per-row baseline, on the whole table set or on a sample of the first rows of each table
    if args.skip_baseline_above and rows > args.skip_baseline_above:
        sample = args.skip_baseline_above
        limits = {table: max(1, counts[table] * sample // rows) for table in counts}
    else:
        sample = None
        limits = dict(counts)
    url = backend.clone(label + '_baseline')
    backend.settle()
    log('  (a) baseline (per-row, autocommit) on %s rows ...' % ('a %d-row sample of the' % sample if sample else 'all'))
    load = os.getloadavg()[0]
    baseline = run_baseline(url, old, new, limits)
    backend.drop(url)
    baseline['load_before'] = load
    baseline['rows_per_s'] = baseline['rows'] / baseline['seconds']
    baseline['tokens_per_s'] = baseline['tokens'] / baseline['seconds']
    baseline['sample_of'] = rows if sample else None
    log('  baseline: %d rows in %.1f s = %.0f rows/s' % (baseline['rows'], baseline['seconds'], baseline['rows_per_s']))
    entry['baseline'] = baseline

    # (b) right before and right after (c), so that both see the same machine load
    before = measure_ceiling(old, new, args.workers, args.ceiling_seconds)
    log('  (b) ceiling before (c): %.0f tokens/s in one process, x%d = %.0f' % (
        before['tokens_per_s_one_process'], args.workers, before['tokens_per_s']))

    # (c) the engine
    url = backend.clone(label + '_engine')
    backend.settle()
    log('  (c) fernet_rotate engine, workers=%d batch_size=%d ...' % (args.workers, args.batch_size))
    profile = os.path.join(args.results_dir, 'engine-%s-%d.prof' % (backend.name, rows)) if args.profile else None
    load = os.getloadavg()[0]
    server_cpu = backend.server_cpu_seconds()
    engine = run_engine(launcher, url, old, new, args, profile)
    engine['server_cpu_s'] = backend.server_cpu_seconds() - server_cpu
    after = measure_ceiling(old, new, args.workers, args.ceiling_seconds)
    log('  (b) ceiling after (c): %.0f tokens/s in one process, x%d = %.0f' % (
        after['tokens_per_s_one_process'], args.workers, after['tokens_per_s']))
    ceiling = {key: (before[key] + after[key]) / 2.0 for key in before}
    ceiling.update(before=before, after=after)
    entry['ceiling'] = ceiling
    engine['load_before'] = load
    engine['rows_per_s'] = rows / engine['seconds']
    rotated = (engine.get('totals') or {}).get('rotated')
    engine['tokens_per_s'] = (rotated if rotated is not None else tokens) / engine['seconds']
    engine['tokens_per_cpu_s'] = (rotated or 0) / max(engine['cpu_self_s'] + engine['cpu_workers_s'] + engine['server_cpu_s'], 1e-9)
    engine['client_tokens_per_cpu_s'] = (rotated or 0) / max(engine['cpu_self_s'] + engine['cpu_workers_s'], 1e-9)
    log('  engine: %.1f s = %.0f rows/s, %.0f tokens/s; rotated=%s of %d tokens; CPU s: main %.1f, workers %.1f, db server %.1f' % (
        engine['seconds'], engine['rows_per_s'], engine['tokens_per_s'], rotated, tokens, engine['cpu_self_s'],
        engine['cpu_workers_s'], engine['server_cpu_s']))
    if not args.no_verify:
        after = webops_db.digest(url, [new], include_unknown=False)  # raises if any value does not open with the new key
        engine['verified'] = after == seeded_digest and rotated == tokens
        if not engine['verified']:
            raise RuntimeError('%s %d rows: the rotated database does not match the seeded one (rotated=%s, tokens=%d, '
                               'digest equal: %s)' % (backend.name, rows, rotated, tokens, after == seeded_digest))
        log('  verified: all %d values open with the new key, plaintext digest unchanged' % tokens)
    backend.drop(url)
    if args.discovery:
        # (d) discovery over the same database, before any rotation (as rotate_keys step 1 runs it)
        url = backend.clone(label + '_discovery')
        backend.settle()
        log('  (d) discovery over %d other text columns, batch_size=%d ...' % (datagen.other_columns(), args.batch_size))
        load = os.getloadavg()[0]
        server_cpu = backend.server_cpu_seconds()
        found = run_engine(launcher, url, old, new, args, None, mode='discover')
        found['server_cpu_s'] = backend.server_cpu_seconds() - server_cpu
        found['load_before'] = load
        found['columns'] = datagen.other_columns()
        backend.drop(url)
        under_old = sum((found.get('totals') or {}).get('by_key', {}).values())
        if under_old != other_tokens:
            raise RuntimeError('%s %d rows: discovery found %d tokens, %d were seeded' % (backend.name, rows, under_old, other_tokens))
        found['tokens_found'] = under_old
        entry['discovery'] = found
        entry['d_over_c'] = found['seconds'] / engine['seconds']
        log('  discovery: %.1f s (%.2f x fernet_rotate), found all %d tokens; peak RSS %.0f MB' % (
            found['seconds'], entry['d_over_c'], under_old, found['maxrss_self_mb']))
    backend.drop(template_url)
    entry['engine'] = engine
    entry['c_over_a'] = engine['rows_per_s'] / baseline['rows_per_s']
    entry['c_over_b'] = engine['tokens_per_s'] / ceiling['tokens_per_s']
    return entry


# ---------------------------------------------------------------- maintenance window

def measure_window(tokens_wanted: int, log) -> dict:
    """rotate_keys.yml on SQLite: the units' stopped time next to the module's own time, from one run."""
    import re
    from support.playbook_site import Site  # the tests' throwaway inventory (local hosts, vault made at run time)

    root = tempfile.mkdtemp(prefix='webops-window-')
    try:
        url = 'sqlite:///' + os.path.join(root, 'db.sqlite3')
        old = Fernet.generate_key()
        # Tokens per row of the benchmark's table mix, measured on a small sample first.
        sample = 'sqlite:///' + os.path.join(root, 'sample.sqlite3')
        webops_db.create_schema(sample)
        datagen.seed(sample, old, 2000)
        per_row = count_tokens(sample) / 2000.0
        rows = int(tokens_wanted / per_row * 1.005) + 1  # at least tokens_wanted: the mix varies a little
        webops_db.create_schema(url)
        datagen.seed(url, old, rows)
        tokens = count_tokens(url)
        site = Site(root)
        host = site.add_env('bench')[0]
        site.write_env_file('bench', host, {'DATABASE_URL': url, 'ENCRYPTION_KEY': old.decode()})
        site.write_vault('bench', {'webops_encryption_key': old.decode()})
        log('  rotate_keys.yml on SQLite, %d rows, %d tokens ...' % (rows, tokens))
        started = time.perf_counter()
        run = site.playbook('rotate_keys.yml', ['bench'], extra={'env': 'bench'})
        play_seconds = time.perf_counter() - started
        found = re.search(r'units stopped: ([0-9.]+) s \(fernet_rotate itself: ([0-9.]+) s\)',
                          run.stdout)
        if run.returncode != 0 or not found:
            raise RuntimeError('rotate_keys.yml failed or reported no window:\n' + run.stdout[-3000:])
        window, module = float(found.group(1)), float(found.group(2))
        log('  window %.1f s, fernet_rotate %.1f s (%.2fx), whole play %.1f s' % (window, module, window / module, play_seconds))
        return {'backend': 'sqlite', 'rows': rows, 'tokens': tokens, 'window_s': window, 'module_s': module,
                'ratio': window / module, 'play_s': play_seconds}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def render_window(window: dict) -> str:
    return '\n'.join([
        '',
        '#### Maintenance window (`rotate_keys.yml`, offline rotation)',
        '',
        '| backend | tokens | units stopped (step 5 to 6) | fernet_rotate module | window / module | whole play |',
        '|---|---:|---:|---:|---:|---:|',
        '| %s | %s | %.1f s | %.1f s | %.2f (goal <= %.1f: %s) | %.1f s |' % (
            window['backend'], _n(window['tokens']), window['window_s'], window['module_s'], window['ratio'],
            TARGET_WINDOW_OVER_MODULE, 'within' if window['ratio'] <= TARGET_WINDOW_OVER_MODULE else 'above', window['play_s']),
        '',
        'Inside the window: stopping the units, the re-encryption (every batch decrypted again before its commit) and an '
        'HMAC-only scan that nothing is left under the old key; the preflight runs before it, the audit line after it.',
    ]) + '\n'


# ---------------------------------------------------------------- report

def _n(value: float) -> str:
    return '{:,.0f}'.format(value)


def render(info: dict, entries: list, args, backend_settings: dict) -> str:
    lines = [
        '#### Key rotation benchmark (`make benchmark`)',
        '',
        '%s: %s, %d CPUs, %.0f GB RAM, %s, kernel %s; Python %s, cryptography %s, psycopg %s, %s.' % (
            info['date'], info['cpu'], info['cpus'], info['memory_gb'], info['os'], info['kernel'], info['python'],
            info['cryptography'], info['psycopg'], ', '.join(v for v in (info['postgresql'], 'SQLite ' + info['sqlite']) if v)),
        'The database server runs on the same machine and shares its cores. workers=%d, batch_size=%d; engine source sha256 %s '
        '(engine.py, _engine/, _db/, columns.py).' % (args.workers, args.batch_size, info['engine_sha256']),
    ]
    if 'postgresql' in backend_settings:
        settings = backend_settings['postgresql']
        lines.append('PostgreSQL settings: fsync=%s, synchronous_commit=%s, shared_buffers=%s (server defaults otherwise).' % (
            settings['fsync'], settings['synchronous_commit'], settings['shared_buffers']))
    lines += [
        '',
        '| backend | rows | tokens | (a) per-row baseline rows/s | (b) crypto ceiling tokens/s | (c) fernet_rotate rows/s |'
        ' (c) tokens/s | (c) time | c/a | c/b | (c) peak RSS: rotating process / largest worker / whole tree (PSS) |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ]
    notes = []
    for entry in entries:
        base, eng, ceiling = entry['baseline'], entry['engine'], entry['ceiling']
        base_cell = _n(base['rows_per_s'])
        if base['sample_of']:
            base_cell += ' ¹'
            notes.append('¹ %s at %s rows: the per-row baseline ran on a %s-row sample (the first rows of each table, same '
                         'table mix) of that database and took %.0f s; its rate is the sample\'s, measured, not extrapolated.'
                         % (entry['backend'], _n(entry['rows']), _n(base['rows']), base['seconds']))
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %.1f s | %.1f | %.2f | %.0f / %.0f / %.0f MB |' % (
            entry['backend'], _n(entry['rows']), _n(entry['tokens']), base_cell, _n(ceiling['tokens_per_s']),
            _n(eng['rows_per_s']), _n(eng['tokens_per_s']), eng['seconds'], entry['c_over_a'], entry['c_over_b'],
            eng['maxrss_self_mb'], eng['maxrss_worker_mb'], eng['peak_tree_pss_mb']))
    lines.append('')
    lines += notes
    lines += [
        '',
        '(a) reads every row, decrypts with the old key and encrypts with the new one, and writes each row with its own '
        'UPDATE in its own transaction, like the app\'s command, but over the same token columns as (c). '
        '(b) is `MultiFernet([new, old]).rotate()` on tokens of the same mix (mean %.0f characters) in one process, '
        'the mean of one measurement right before (c) and one right after, times %d workers; no database. '
        '(c) is `engine.rotate()`, the code `fernet_rotate` '
        'runs, in a fresh process; rows/s counts every row of the token tables, tokens/s the values it re-encrypted. '
        'c/a compares rows/s, c/b tokens/s. Peak RSS is getrusage(RUSAGE_SELF / RUSAGE_CHILDREN) of that process, '
        'which a small launcher starts (Linux carries a parent\'s peak RSS across exec); the whole-tree figure is the '
        'sampled peak of its and its workers\' proportional set size (shared pages counted once).'
        % (entries[0]['ceiling']['mean_token_chars'] if entries else 0, args.workers),
        'Every rotated database was checked: all values open with the new key and the digest of all plaintexts is unchanged.'
        if not args.no_verify else 'Results were NOT verified (--no-verify).',
        '',
        'Where (c) spent its time, in CPU seconds (the machine has %d cores). Tokens per CPU-second divide the '
        'tokens by CPU time, so unlike the rates above they barely depend on what else the machine runs (the 1-min '
        'load average shows that). "all" counts the rotating process, its workers and the PostgreSQL server; '
        '"client" leaves the server out, as if the database had cores of its own. c/b by CPU is (c) over (b).'
        % info['cpus'],
        '',
        '| backend | rows | wall | rotating process | workers | database server | (c) tokens per CPU-s: all / client |'
        ' (b) tokens per CPU-s | c/b by CPU: all / client | (b) one process tokens/s: before / after (c) | 1-min load before (a) / (c) |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ]
    for entry in entries:
        eng, base = entry['engine'], entry['baseline']
        ceiling = entry['ceiling']
        lines.append('| %s | %s | %.1f s | %.1f s | %.1f s | %s | %s / %s | %s | %.2f / %.2f | %s / %s | %.1f / %.1f |' % (
            entry['backend'], _n(entry['rows']), eng['seconds'], eng['cpu_self_s'], eng['cpu_workers_s'],
            '%.1f s' % eng['server_cpu_s'] if entry['backend'] == 'postgresql' else 'in process',
            _n(eng['tokens_per_cpu_s']), _n(eng['client_tokens_per_cpu_s']), _n(ceiling['tokens_per_cpu_s']),
            eng['tokens_per_cpu_s'] / ceiling['tokens_per_cpu_s'], eng['client_tokens_per_cpu_s'] / ceiling['tokens_per_cpu_s'],
            _n(ceiling['before']['tokens_per_s_one_process']), _n(ceiling['after']['tokens_per_s_one_process']),
            base['load_before'], eng['load_before']))
    found = [entry for entry in entries if entry.get('discovery')]
    if found:
        lines += [
            '',
            '(d) discovery: `engine.discover()`, what rotate_keys runs in step 1, over the same database with %d text columns '
            'outside the profile (two tables of ordinary application text, as many rows each as the token tables, one '
            'value in %d a token), in a fresh process like (c). Goal: d/c ≤ %.1f, memory flat as rows grow.'
            % (datagen.other_columns(), datagen.TOKEN_EVERY, TARGET_D_OVER_C),
            '',
            '| backend | rows | other text columns | tokens found | (d) time | (c) time | d/c | (d) peak RSS | db server CPU |',
            '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
        ]
        for entry in found:
            disc = entry['discovery']
            lines.append('| %s | %s | %d | %s | %.1f s | %.1f s | %.2f %s | %.0f MB | %s |' % (
                entry['backend'], _n(entry['rows']), disc['columns'], _n(disc['tokens_found']), disc['seconds'],
                entry['engine']['seconds'], entry['d_over_c'], 'reached' if entry['d_over_c'] <= TARGET_D_OVER_C else 'above the goal',
                disc['maxrss_self_mb'], '%.1f s' % disc['server_cpu_s'] if entry['backend'] == 'postgresql' else 'in process'))
    lines += [
        '',
        'Goals: c/a ≥ %.0f on PostgreSQL at 100k rows, c/b ≥ %.1f, peak RSS ≤ %.0f MB at 1M rows.' % (
            TARGET_C_OVER_A, TARGET_C_OVER_B, TARGET_RSS_MB),
    ]
    for entry in entries:
        eng = entry['engine']
        checks = ['c/b %.2f %s' % (entry['c_over_b'], 'reached' if entry['c_over_b'] >= TARGET_C_OVER_B else 'below the goal')]
        if entry['backend'] == 'postgresql' and entry['rows'] == 100000:
            checks.insert(0, 'c/a %.1f %s' % (entry['c_over_a'], 'reached' if entry['c_over_a'] >= TARGET_C_OVER_A else 'below the goal'))
        if entry['rows'] >= 1000000:
            worst = max(eng['maxrss_self_mb'], eng['maxrss_worker_mb'])
            checks.append('peak RSS %.0f MB per process %s (whole tree PSS %.0f MB)' % (
                worst, 'within the goal' if worst <= TARGET_RSS_MB else 'above the goal', eng['peak_tree_pss_mb']))
        lines.append('- %s, %s rows: %s' % (entry['backend'], _n(entry['rows']), '; '.join(checks)))
    return '\n'.join(lines) + '\n'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--rows', default='100000,1000000', help='comma-separated row counts (default: %(default)s)')
    parser.add_argument('--backends', default='postgresql,sqlite', help='comma-separated: postgresql, sqlite (default: %(default)s)')
    parser.add_argument('--workers', type=int, default=os.cpu_count(), help='engine workers; also scales (b) (default: CPU count)')
    parser.add_argument('--batch-size', type=int, default=5000, help='engine batch size (default: %(default)s)')
    parser.add_argument('--skip-baseline-above', type=int, default=100000, metavar='N',
                        help='above N rows, run the per-row baseline on an N-row sample (0: always all rows; default: %(default)s)')
    parser.add_argument('--pg-fsync', choices=('on', 'off'), default='on', help='PostgreSQL fsync (default: on, like production)')
    parser.add_argument('--ceiling-seconds', type=float, default=3.0, help='how long to measure (b) (default: %(default)s)')
    parser.add_argument('--no-verify', action='store_true', help='skip the digest check of the rotated databases')
    parser.add_argument('--no-discovery', dest='discovery', action='store_false',
                        help='skip (d), discovery over 20 other text columns (seeded into every database)')
    parser.add_argument('--profile', action='store_true', help='cProfile the engine\'s main process into benchmarks/results/')
    parser.add_argument('--collections-path', metavar='DIR',
                        help='import webops.encryption from DIR/ansible_collections instead of this checkout (A/B a patched engine)')
    parser.add_argument('--window-tokens', type=int, default=300000, metavar='N',
                        help='measure the maintenance window of rotate_keys.yml on N tokens in SQLite (0: skip; default: %(default)s)')
    parser.add_argument('--window-only', action='store_true', help='measure only the maintenance window')
    parser.add_argument('--results-dir', default=os.path.join(HERE, 'results'), help='where the JSON and markdown go')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--launcher', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (args.child or args.launcher):
        try:
            args.rows = [int(n) for n in args.rows.split(',') if n.strip()]
        except ValueError:
            parser.error('--rows takes comma-separated integers, e.g. 100000,1000000')
        args.backends = [b.strip() for b in args.backends.split(',') if b.strip()]
        unknown = set(args.backends) - {'postgresql', 'sqlite'}
        if unknown or not args.backends:
            parser.error('--backends takes postgresql and/or sqlite, not %s' % ', '.join(sorted(unknown)))
        if args.workers < 1 or args.batch_size < 1 or any(n < 1 for n in args.rows):
            parser.error('--workers, --batch-size and --rows must be positive')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main()
    if args.launcher:
        return launcher_main()
    os.makedirs(args.results_dir, exist_ok=True)
    launcher = Launcher()  # first, while this process is small
    engine_at_start = engine_version(args.collections_path)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    entries, settings, pg_version = [], {}, None
    try:
        for name in ([] if args.window_only else args.backends):
            backend = PostgresBackend(args.pg_fsync == 'on') if name == 'postgresql' else SqliteBackend()
            try:
                if name == 'postgresql':
                    pg_version = backend.version
                    settings['postgresql'] = backend.settings
                for rows in args.rows:
                    log('%s, %d rows' % (name, rows))
                    entries.append(measure(backend, launcher, rows, args, log))
            finally:
                backend.close()
    finally:
        launcher.close()
    info = machine_info(pg_version)
    info['engine_sha256'] = engine_at_start
    if engine_version(args.collections_path) != engine_at_start:
        info['engine_sha256'] += ' (CHANGED during the run: rerun for figures of one engine version)'
    report = render(info, entries, args, settings) if entries else ''
    window = None
    if args.window_tokens > 0:
        log('maintenance window, %d tokens' % args.window_tokens)
        window = measure_window(args.window_tokens, log)
        report += render_window(window)
    print(report)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
    with open(os.path.join(args.results_dir, 'benchmark-%s.json' % stamp), 'w', encoding='utf-8') as handle:
        json.dump({'machine': info, 'entries': entries, 'settings': settings, 'window': window,
                   'args': {k: v for k, v in vars(args).items() if k not in ('child', 'launcher')}}, handle, indent=2)
    with open(os.path.join(args.results_dir, 'benchmark-%s.md' % stamp), 'w', encoding='utf-8') as handle:
        handle.write(report)
    log('results: %s' % os.path.join(args.results_dir, 'benchmark-%s.{json,md}' % stamp))
    return 0


if __name__ == '__main__':
    sys.exit(main())
