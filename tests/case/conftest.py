"""Fixtures of the case tests: a throwaway PostgreSQL cluster and stores on both databases.

The cluster is made with ``initdb`` and ``pg_ctl`` from ``/usr/lib/postgresql/*/bin`` in a
temporary folder, listens on a unix socket and on 127.0.0.1 at a free port, and runs as
the ``postgres`` system user when the tests run as root (initdb refuses root). Missing
binaries fail the PostgreSQL tests with a message saying what to install.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from blockplan.case.store import CaseStore

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass(frozen=True)
class PgServer:
    """A running throwaway PostgreSQL server (superuser ``postgres``, trust auth)."""

    host: str
    port: int
    socket_dir: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{database}"

    def admin(self) -> object:
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user="postgres", dbname="postgres", autocommit=True
        )


def _pg_bindir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for folder in reversed(candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """Start a PostgreSQL cluster for this test session; stop and delete it afterwards."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin "
            "or on PATH: install them (`apt-get install postgresql`, done by `make test`)",
            pytrace=False,
        )
    root = Path(tempfile.mkdtemp(prefix="blockplan-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            pg_user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail(
                "running as root, PostgreSQL needs the 'postgres' system user "
                "(created by `apt-get install postgresql`)",
                pytrace=False,
            )
        os.chown(root, pg_user.pw_uid, pg_user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def run(*args: str) -> None:
        proc = subprocess.run(
            [*prefix, *args], capture_output=True, text=True, env=env, cwd=root, check=False
        )
        if proc.returncode != 0:
            log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
            pytest.fail(
                f"PostgreSQL set-up failed: {' '.join(args)}\n{proc.stdout}\n{proc.stderr}\n{log}",
                pytrace=False,
            )

    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    options = (
        f"-F -p {port} -k {root} -c listen_addresses=127.0.0.1 "
        "-c max_connections=60 -c shared_buffers=16MB"
    )
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(root / "server.log"),
        "-o",
        options,
        "-w",
        "-t",
        "60",
        "start",
    )
    try:
        yield PgServer(host="127.0.0.1", port=port, socket_dir=str(root))
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
            cwd=root,
        )
        shutil.rmtree(root, ignore_errors=True)


def _new_pg_database(server: PgServer) -> str:
    name = "t_" + uuid.uuid4().hex[:16]
    with server.admin() as conn:  # type: ignore[attr-defined]
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_pg_database(server: PgServer, name: str) -> None:
    with server.admin() as conn:  # type: ignore[attr-defined]
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clinician() -> str:
    """A configured clinician (the operator recorded when no --user is given)."""
    from blockplan.settings import Settings, save_settings

    name = "Dr C. Onfigured"
    save_settings(Settings(clinician_name=name))
    return name


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty store: an SQLite file in tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'cases.sqlite3'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = _new_pg_database(server)
    try:
        yield server.url(name)
    finally:
        _drop_pg_database(server, name)


@pytest.fixture
def store(store_url: str) -> Iterator[CaseStore]:
    """An open, empty `CaseStore` on each backend."""
    with CaseStore(store_url) as opened:
        yield opened


@pytest.fixture(params=BACKENDS, scope="module")
def shared_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CaseStore]:
    """One store per backend and test module (for property tests with many examples)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("shared") / "cases.sqlite3"
        with CaseStore(f"sqlite:///{path}") as opened:
            yield opened
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = _new_pg_database(server)
    try:
        with CaseStore(server.url(name)) as opened:
            yield opened
    finally:
        _drop_pg_database(server, name)
