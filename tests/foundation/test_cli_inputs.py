"""The CLI with bad and odd inputs: one line and a status, never a traceback or a hang;
start-up imports only what a command uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from blockplan.cli import _COMMANDS, _SHORT_HELP, main

REPO = Path(__file__).resolve().parents[2]
HEAVY = (
    "numpy",
    "pydicom",
    "pydantic",
    "reportlab",
    "sqlalchemy",
    "highdicom",
    "pynetdicom",
    "PIL",
    "pikepdf",
    "SimpleITK",
    "matplotlib",
    "blockplan.io",
    "blockplan.case",
    "blockplan.outcomes",
    "blockplan.report",
    "blockplan.archive",
    "blockplan.planning",
    "blockplan.fluoro",
)


def _modules_after(*args: str) -> set[str]:
    """Top-level modules (and blockplan stages) loaded by ``blockplan ARGS`` in a fresh
    interpreter."""
    code = (
        "import sys\n"
        "from blockplan.cli import main\n"
        "try:\n"
        f"    main.main({list(args)!r}, prog_name='blockplan')\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = {n.split('.')[0] for n in sys.modules}\n"
        "names |= {'.'.join(n.split('.')[:2]) for n in sys.modules if n.startswith('blockplan.')}\n"
        "print(' '.join(sorted(names)), file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    return set(out.stderr.strip().splitlines()[-1].split())


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("--version",),
        ("frobnicate",),
        ("--no-such-option",),
        ("series", "--help"),
        ("series",),  # missing argument
        ("report", "--help"),
        ("report", "missing.json"),  # argument error: no such file
        ("outcomes", "--help"),
        ("demo", "--help"),
        ("config", "--help"),
        ("view", "--help"),
        ("levels", "--help"),
        ("levels",),  # missing argument
        ("case", "--help"),
        ("case", "list", "--help"),
        ("case", "sources", "--help"),
        ("case", "show", "--help"),
        ("case", "export", "--help"),
        ("case", "import", "--help"),
        ("case", "show"),  # missing argument
        ("case", "list", "--limit", "0"),  # out of range
        ("case", "frobnicate"),
        ("config", "show", "--help"),
        ("config", "set", "--help"),
        ("archive", "--help"),
        ("archive", "--no-such-option"),
        ("archive", "missing.json", "--pdf", "missing.pdf"),  # no such file
        ("export", "--help"),
        ("export",),  # missing argument
        ("fluoro", "--help"),
        ("fluoro", "missing.json", "--view", "sideways"),  # bad choice
    ],
)
def test_help_and_argument_errors_import_no_stage(args: tuple[str, ...]) -> None:
    loaded = _modules_after(*args)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_fluoro_view_choices_are_the_view_kinds() -> None:
    from blockplan._cli_fluoro import VIEW_CHOICES
    from blockplan.fluoro.views import ViewKind

    assert tuple(k.value for k in ViewKind) == VIEW_CHOICES


def test_listing_series_imports_no_report_store_or_network_code(tmp_path: Path) -> None:
    loaded = _modules_after("series", str(REPO / "sample_dicom" / "S0002_CT"))
    assert "pydicom" in loaded  # it did the work
    unused = {"reportlab", "sqlalchemy", "highdicom", "pynetdicom", "SimpleITK", "matplotlib"}
    assert not loaded & unused, sorted(loaded & unused)


def test_short_help_is_each_commands_first_help_line() -> None:
    assert set(_SHORT_HELP) == set(_COMMANDS)
    for name in _COMMANDS:
        command = main.get_command(click.Context(main), name)
        assert command is not None and command.help is not None
        assert _SHORT_HELP[name] == command.help.strip().splitlines()[0], name


# --- files that are not regular files --------------------------------------------------
@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO; should a regression open it, a watchdog unblocks the reader after 10 s (the
    test then fails instead of hanging)."""
    path = tmp_path / "pipe.json"
    os.mkfifo(path)

    def unblock() -> None:
        os.close(os.open(path, os.O_RDWR))  # never blocks on Linux; the reader sees EOF

    watchdog = threading.Timer(10.0, unblock)
    watchdog.start()
    yield path
    watchdog.cancel()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "args",
    [
        ("report", "{case}", "-o", "{tmp}/r.pdf", "--logo", "{fifo}"),
        ("report", "{case}", "-o", "{tmp}/r.pdf", "--profile", "{fifo}"),
        ("report", "{case}", "-o", "{tmp}/r.pdf", "--payer", "{fifo}"),
        ("outcomes", "{case}", "--profile", "{fifo}"),
        ("outcomes", "{fifo}"),
        ("archive", "{case}", "--images", "{tmp}", "--to", "{tmp}/out", "--pdf", "{fifo}"),
        ("archive", "{case}", "--images", "{tmp}", "--to", "{tmp}/out", "--tls-ca", "{fifo}"),
        ("export", "{case}", "--images", "{tmp}", "--to", "{tmp}/out", "--key-file", "{fifo}"),
    ],
)
def test_a_fifo_is_refused_not_opened(
    args: tuple[str, ...], fifo: Path, tmp_path: Path, demo_case_file: Path
) -> None:
    # opening the FIFO would block this test forever: it must be refused before
    values = {"case": str(demo_case_file), "tmp": str(tmp_path), "fifo": str(fifo)}
    code, output = _run(*(a.format(**values) for a in args))
    assert code == 2
    assert "FIFO" in output and "regular file" in output


@pytest.fixture
def demo_case_file(tmp_path: Path) -> Path:
    from blockplan.case.casefile import save_case_file
    from blockplan.demo import build_demo_case

    return save_case_file(build_demo_case(REPO / "sample_dicom"), tmp_path / "c.blockplan.json")


# --- JSON case files that Python's json module would accept -----------------------------
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"format": "blockplan.case", "schema_version": 1e400}', "out of range"),
        ('{"format": "blockplan.case", "x": "\\ud800"}', "lone UTF-16 surrogate"),
        ("[" * 5000 + "]" * 5000, "nested more than 64 levels"),
    ],
)
@pytest.mark.parametrize("command", ["outcomes", "report", "import"])
def test_odd_json_case_files_are_refused_in_one_line(
    tmp_path: Path, body: str, message: str, command: str
) -> None:
    path = tmp_path / "odd.blockplan.json"
    path.write_text(body, encoding="utf-8")
    args = {
        "outcomes": ["outcomes", str(path)],
        "report": ["report", str(path), "-o", str(tmp_path / "r.pdf")],
        "import": ["case", "import", str(path), "--user", "Dr T", "--db", str(tmp_path / "s.db")],
    }[command]
    code, output = _run(*args)
    assert code == 2
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("blockplan: error:")
    assert message in lines[0] and "not valid JSON" in lines[0]


# --- report -------------------------------------------------------------------------------
def test_report_refuses_to_replace_a_file_without_force(
    tmp_path: Path, demo_case_file: Path
) -> None:
    out = tmp_path / "signed.pdf"
    out.write_bytes(b"%PDF-1.7 signed")
    code, output = _run("report", str(demo_case_file), "-o", str(out))
    assert code == 2 and "exists" in output and "--force" in output
    assert out.read_bytes() == b"%PDF-1.7 signed"
    args = ("report", str(demo_case_file), "-o", str(out), "--force", "--json")
    args += ("--date", "2026-03-20T10:00:00+01:00")
    code, output = _run(*args)
    assert code == 0, output
    doc = json.loads(output)
    assert doc["format"] == "blockplan.report" and doc["version"] == 1
    assert doc["path"] == str(out) and doc["bytes"] == out.stat().st_size
    assert out.read_bytes().startswith(b"%PDF-") and doc["key_image_series"] == 0


@pytest.mark.parametrize(("option", "limit"), [("--author", 200), ("--report-id", 64)])
def test_report_refuses_overlong_text_in_one_line(
    tmp_path: Path, demo_case_file: Path, option: str, limit: int
) -> None:
    args = ("report", str(demo_case_file), "-o", str(tmp_path / "r.pdf"), option, "A" * 5000)
    code, output = _run(*args)
    assert code == 2 and f"at most {limit}" in output and option in output
    assert not (tmp_path / "r.pdf").exists()


# --- demo, case list ----------------------------------------------------------------------
def test_demo_into_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, output = _run("demo", "-o", str(blocker / "demo"))
    assert code == 2
    assert output.startswith("blockplan: error: demo: cannot create the folder")
    assert "-o" in output and len(output.strip().splitlines()) == 1


def test_case_list_on_a_missing_store_says_so_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "typo.sqlite3"
    for given in (str(db), f"sqlite:///{db}"):
        code, output = _run("case", "list", "--db", given)
        assert code == 2 and "does not exist" in output and "--db" in output
        assert not db.exists()


# --- series --json --------------------------------------------------------------------------
def test_series_json_is_strict_json(tmp_path: Path) -> None:
    import numpy as np
    import pydicom

    from tests.io._dicom_factory import SeriesSpec, write_series

    def huge_spacing(ds: pydicom.Dataset, _k: int) -> None:
        ds.PixelSpacing = ["1e308", "1e308"]  # finite, but the affine overflows

    write_series(tmp_path, SeriesSpec(volume=np.zeros((3, 4, 5), np.int16)), edit=huge_spacing)
    result = CliRunner().invoke(main, ["series", "--json", str(tmp_path)])
    assert "Infinity" not in result.stdout and "NaN" not in result.stdout

    def refuse(constant: str) -> None:
        raise ValueError(constant)

    doc = json.loads(result.stdout, parse_constant=refuse)
    assert doc["format"] == "blockplan.series"


# --- native chatter and unforeseen failures -------------------------------------------------
_CHATTY = (
    "import os, click\n"
    "from blockplan.cli import main\n"
    "@main.command('chatter')\n"
    "def chatter():\n"
    "    os.write(2, b'Warning: bogus value from a C decoder\\n')\n"
    "    click.echo('blockplan: the one line', err=True)\n"
    "main(['chatter'])\n"
)


@pytest.mark.parametrize("debug", [False, True])
def test_native_chatter_stays_off_stderr_unless_debugging(debug: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BLOCKPLAN_DEBUG"}
    if debug:
        env["BLOCKPLAN_DEBUG"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", _CHATTY], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert "blockplan: the one line" in out.stderr
    assert ("bogus value" in out.stderr) is debug


class _Panic(BaseException):
    """Like pyo3's PanicException (a Rust panic): a BaseException, not an Exception."""


def test_an_unforeseen_failure_or_panic_is_one_line_with_status_70(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BLOCKPLAN_DEBUG", raising=False)

    @main.command("probe-panic")
    def probe_panic() -> None:
        raise _Panic("thread panicked at src/lib.rs")

    try:
        result = CliRunner().invoke(main, ["probe-panic"])
    finally:
        main.commands.pop("probe-panic", None)
    assert result.exit_code == 70
    assert result.output == (
        "blockplan: internal error (_Panic); please report it with the command you ran "
        "(BLOCKPLAN_DEBUG=1 shows the traceback)\n"
    )
