# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Copies of a set-up ``support.playbook_site`` site: setup_encryption.yml runs once per module,
and each test that does not assert on the setup itself gets its own copy of the result.

The copy is a real site of its own: the directory tree copied (inventories, .env files, vault,
logs), every absolute path and the database URL rewritten to the copy's (in the vault too, decrypted
and encrypted again with the same password), and the database copied (PostgreSQL: ``CREATE DATABASE
... TEMPLATE``; a SQLite file inside the site's directory comes with the tree).
"""

import os
import shutil
import uuid

VAULT_HEADER = b"$ANSIBLE_VAULT"


def database_name(url):
    """The database a PostgreSQL URL names."""
    return url.rsplit("/", 1)[-1].split("?", 1)[0]


def _copy_database(url, pg_server):
    """A new database holding what ``url``'s holds; returns its URL (PostgreSQL only)."""
    source, target = database_name(url), "t_" + uuid.uuid4().hex[:12]
    with pg_server.admin() as conn:
        # CREATE DATABASE ... TEMPLATE needs the source idle; the run that set it up has ended.
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                     (source,))
        conn.execute('CREATE DATABASE "%s" TEMPLATE "%s"' % (target, source))
    return pg_server.url(target)


def copy_site(site, dest, pg_server=None):
    """A copy of ``site`` (its class, its state) under ``dest`` (which must not exist), with its own
    database. ``pg_server``: the cluster of a PostgreSQL site's database (its URL as ``pg_url`` gives it)."""
    old_root, new_root = site.root, str(dest)
    old_url = site.database_url
    if old_url.startswith("sqlite:///"):
        if not old_url[len("sqlite:///"):].startswith(old_root + os.sep):
            raise ValueError("the SQLite file of the site must be inside its directory to be copied with it")
        new_url = old_url.replace(old_root, new_root, 1)
    else:
        new_url = _copy_database(old_url, pg_server)
    pairs = [(old_url, new_url), (old_root, new_root)]
    if not old_url.startswith("sqlite:///"):
        pairs.append((database_name(old_url), database_name(new_url)))

    def rewrite(text):
        for old, new in pairs:
            text = text.replace(old, new)
        return text

    shutil.copytree(old_root, new_root, symlinks=True)
    for base, _dirs, names in os.walk(new_root):
        for name in names:
            path = os.path.join(base, name)
            if os.path.islink(path):
                target = os.readlink(path)
                if rewrite(target) != target:
                    os.unlink(path)
                    os.symlink(rewrite(target), path)
                continue
            with open(path, "rb") as handle:
                data = handle.read()
            if data.startswith(VAULT_HEADER):
                text = site.vault.decrypt(data).decode("utf-8")
                if rewrite(text) != text:
                    data = site.vault.encrypt(rewrite(text))
                else:
                    continue
            else:
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    continue  # a SQLite file: it names no path
                if rewrite(text) == text:
                    continue
                data = rewrite(text).encode("utf-8")
            mode = os.stat(path).st_mode
            with open(path, "wb") as handle:
                handle.write(data)
            os.chmod(path, mode)
    copy = object.__new__(type(site))
    copy.__dict__.update((name, rewrite(value) if isinstance(value, str) else value) for name, value in site.__dict__.items())
    return copy
