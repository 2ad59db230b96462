# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throwaway PostgreSQL cluster for tests and benchmarks (initdb and pg_ctl, as the postgres user).

initdb/pg_ctl run as the ``postgres`` user in a temp dir, listening on 127.0.0.1 at a
free port. Host connections need a password (scram), so URL-encoding of odd passwords
is really exercised; the unix socket is trusted for administration.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote


def _bindir():
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgCluster:
    def __init__(self, port=None):
        self.bindir = _bindir()
        self.port = port or free_port()
        self.root = tempfile.mkdtemp(prefix="webops-pg-")
        self.datadir = os.path.join(self.root, "data")
        self.sockdir = os.path.join(self.root, "sock")
        self.log = os.path.join(self.root, "server.log")
        self.password = secrets.token_urlsafe(16)
        self._as_postgres = os.geteuid() == 0

    def _run(self, args, **kwargs):
        if self._as_postgres:
            pw = pwd.getpwnam("postgres")

            def demote():
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
            kwargs["preexec_fn"] = demote
        return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)

    def start(self):
        os.makedirs(self.sockdir)
        if self._as_postgres:
            pw = pwd.getpwnam("postgres")
            for path in (self.root, self.sockdir):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        pwfile = os.path.join(self.root, "pw")
        with open(pwfile, "w") as handle:
            handle.write(self.password)
        if self._as_postgres:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        self._run([os.path.join(self.bindir, "initdb"), "-D", self.datadir, "-U", "postgres", "--pwfile", pwfile,
                   "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"])
        os.unlink(pwfile)
        opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" % (self.port, self.sockdir)
        self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-o", opts, "-l", self.log, "-w", "start"])
        return self

    def stop(self, mode="fast"):
        try:
            self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-m", mode, "-w", "stop"])
        except subprocess.CalledProcessError:
            pass

    def restart(self):
        opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" % (self.port, self.sockdir)
        self._run([os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-o", opts, "-l", self.log, "-w", "start"])

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname="postgres", user="postgres", password=None):
        password = self.password if password is None and user == "postgres" else password
        auth = quote(user, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        return "postgresql://%s@127.0.0.1:%d/%s" % (auth, self.port, dbname)

    def admin(self, dbname="postgres"):
        """An autocommit psycopg connection over the trusted unix socket."""
        import psycopg
        return psycopg.connect(host=self.sockdir, port=self.port, user="postgres", dbname=dbname, autocommit=True)

    def create_database(self, name=None):
        name = name or "t_" + uuid.uuid4().hex[:12]
        with self.admin() as conn:
            conn.execute('CREATE DATABASE "%s"' % name)
        return name

    def drop_database(self, name):
        with self.admin() as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            conn.execute('DROP DATABASE IF EXISTS "%s"' % name)

    def wait_ready(self, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with self.admin():
                    return True
            except Exception:  # pylint: disable=broad-except
                time.sleep(0.1)
        return False
