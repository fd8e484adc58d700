"""A throwaway PostgreSQL cluster for tests and benchmarks: Debian's server, in a temporary folder.

``initdb`` and ``pg_ctl`` run as the ``postgres`` user (through ``runuser`` when we are
root, as ourselves otherwise) in a fresh folder, listening on a free loopback port with its
unix socket in that folder; ``destroy`` stops it and deletes everything. Not used when
serving: ``make test`` and ``make bench`` start one (``make postgres`` installs the server).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

POSTGRES_USER = "postgres"
# Settings for tests only: no fsync (an app server is killed in tests, the machine never
# is), so a test database is created in milliseconds. Benchmarks keep the durable defaults.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def server_bin_dir() -> Path:
    """The folder holding initdb and pg_ctl (Debian's newest installed version first), or FileNotFoundError."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise FileNotFoundError("PostgreSQL's server is not installed: run `make postgres` (Debian: apt-get install postgresql)")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayCluster:
    """A PostgreSQL cluster that lives in a temporary folder until ``destroy``."""

    def __init__(self, fast: bool = True) -> None:
        self.bin_dir = server_bin_dir()
        self.settings = FAST_SETTINGS if fast else ()
        self.as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="doodles-postgres-"))
        if self.as_root:
            account = pwd.getpwnam(POSTGRES_USER)
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-U", POSTGRES_USER, "--auth=trust", "--encoding=UTF8",
                  "--no-sync", "--no-instructions")
        self.start()

    def _run(self, program: str, *arguments: str) -> None:
        """Run a server program as the postgres user; raise with its output if it fails."""
        command = [str(self.bin_dir / program), *arguments]
        if self.as_root:
            command = ["runuser", "-u", POSTGRES_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stdout}{result.stderr}")

    def start(self) -> None:
        """Start the server (again) and wait until it accepts connections."""
        options = [f"-p {self.port}", f"-k {self.folder}", "-c listen_addresses=127.0.0.1",
                   *(f"-c {setting}" for setting in self.settings)]
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", " ".join(options),
                  "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions, disconnect everyone, shut down cleanly)."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop")

    def url(self, database: str = "postgres") -> str:
        """A postgresql:// URL for a database of this cluster."""
        return f"postgresql://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still connected."""
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def destroy(self) -> None:
        """Stop the server at once and delete its folder."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        except RuntimeError:
            pass  # Already stopped.
        shutil.rmtree(self.folder, ignore_errors=True)
