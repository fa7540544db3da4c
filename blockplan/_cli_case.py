"""``blockplan case``: list, sources, show, export and import cases of the store.

Every command takes ``--db URL`` (an SQLite file path or a SQLAlchemy URL such as
``postgresql+psycopg://user@host/db``; default ``$BLOCKPLAN_DB``, else the SQLite store in
blockplan's data folder, ``$XDG_DATA_HOME/blockplan/cases.sqlite3`` on Linux).
``case list`` is the clinician's worklist and shows patient name, ID and study date;
``case sources`` the patients' confirmed, probable and open sources (names and IDs too);
``show``, ``export`` and ``import`` name a case by its id only. Errors print one line and
exit with status 2 (never with a patient identifier).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from blockplan._cli_progress import tty_steps
from blockplan.cli import ErrorReportingGroup
from blockplan.errors import CaseError, CaseFileError

__all__ = ["case"]


_db_option = click.option(
    "--db",
    "db",
    envvar="BLOCKPLAN_DB",
    default=None,
    metavar="URL",
    help="Case store: SQLite file or SQLAlchemy URL (default: $BLOCKPLAN_DB, else "
    "cases.sqlite3 in blockplan's data folder, ~/.local/share/blockplan on Linux).",
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _user_option(func: Any) -> Any:
    return click.option(
        "--user",
        default=None,
        show_default="the configured clinician (blockplan config set clinician_name …)",
        help="Who does this (recorded in the audit trail).",
    )(func)


def _user(given: str | None) -> str:
    from blockplan.case.store import default_user

    return given if given else default_user()


def _open(db: str | None, *, must_exist: bool = False) -> Any:
    """The case store; with ``must_exist`` (``case list``), an explicit SQLite file that
    does not exist is refused: a typo must not leave an empty database behind."""
    from blockplan.case.store import CaseStore

    if must_exist and db:
        path = db.removeprefix("sqlite:///") if db.startswith("sqlite:///") else db
        if "://" not in path and not os.path.exists(path):
            raise CaseError(
                f"case store {path} does not exist; check --db or $BLOCKPLAN_DB "
                "(`blockplan case import` creates a store)"
            )
    return CaseStore(db)


def _when(value: Any) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@click.group(cls=ErrorReportingGroup)
def case() -> None:
    """Cases in the store: list, show, export to a file, import from files."""


def _study_date_option(value: str | None) -> Any:
    if value is None:
        return None
    from blockplan.case.store import parse_study_date

    try:
        return parse_study_date(value)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--study-date") from err


@case.command("list")
@_db_option
@click.option(
    "--search",
    "search",
    default="",
    metavar="TEXT",
    help="Words to find in the patient name, patient ID or title (case and accents ignored).",
)
@click.option("--patient-id", default=None, help="Only this patient's cases (exact ID).")
@click.option(
    "--study-date",
    default=None,
    metavar="DATE|FROM..TO",
    help="Study date YYYY-MM-DD, or a range FROM..TO (either end may be left out).",
)
@click.option("--title", "title", default="", metavar="TEXT", help="Words to find in the title.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=100, show_default=True, help="At most N."
)
@_json_option
def list_cases(
    db: str | None,
    search: str,
    patient_id: str | None,
    study_date: str | None,
    title: str,
    limit: int,
    as_json: bool,
) -> None:
    """The worklist: stored cases with patient and study, most recently changed first.

    Shows patient name, patient ID, study date, title, case id and when it last changed.
    """
    from blockplan.case._text import format_person_name

    dates = _study_date_option(study_date)
    with _open(db, must_exist=True) as store:
        if patient_id is not None and not patient_id.strip():
            rows = []
        else:
            rows = store.worklist(
                search,
                patient_id=patient_id or "",
                study_date=dates,
                title=title,
                limit=limit,
            )
    if as_json:
        _echo_json([r.to_json_dict() for r in rows])
        return
    if not rows:
        click.echo("no cases")
        return
    table = [
        (
            format_person_name(r.patient_name) or "-",
            r.patient_id or "-",
            r.study_date.isoformat() if r.study_date else "-",
            r.title or "-",
            r.case_id,
            _when(r.updated_at),
        )
        for r in rows
    ]
    heads = ("patient", "patient id", "study date", "title", "case id", "changed")
    widths = [min(max(len(h), *(len(t[n]) for t in table)), 40) for n, h in enumerate(heads)]
    widths[4] = max(widths[4], max(len(t[4]) for t in table))  # ids are never cut

    def line(cells: tuple[str, ...]) -> str:
        out = []
        for text, width in zip(cells, widths, strict=True):
            cut = text if len(text) <= width else text[: width - 1] + "…"
            out.append(f"{cut:{width}}")
        return "  ".join(out).rstrip()

    click.echo(line(heads))
    for cells in table:
        click.echo(line(cells))
    if len(rows) == limit:
        click.echo(f"(first {limit}; narrow the search or raise --limit)")


@case.command("sources")
@_db_option
@click.option(
    "--profile",
    default=None,
    metavar="NAME",
    help="A shipped adjudication profile (default: each case under its own profile).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=100, show_default=True, help="At most N cases."
)
@click.option(
    "--refresh", is_flag=True, help="First summarise the cases without a current summary (slow)."
)
@_json_option
def sources(db: str | None, profile: str | None, limit: int, refresh: bool, as_json: bool) -> None:
    """Which patients have which confirmed, probable, needs-review or pending sources.

    Read from the ledger summaries the store keeps with every case version; shows patient
    name, patient ID, case id and each listed source with its status.
    """
    with _open(db) as store:
        if refresh:
            store.refresh_sources()
        found = store.sources(profile, limit=limit)
    if as_json:
        _echo_json(
            {
                "profile": found.profile,
                "not_summarised": found.not_summarised,
                "cases": [e.to_json_dict() for e in found.entries],
            }
        )
        return
    _echo_sources(found, limit)


def _echo_sources(found: Any, limit: int) -> None:
    from blockplan.case._text import format_person_name

    under = f"under {found.profile}" if found.profile else "each case under its own profile"
    if not found.entries:
        click.echo(f"no confirmed, probable, needs-review or pending sources ({under})")
    for e in found.entries:
        name = format_person_name(e.patient_name) or "-"
        click.echo(
            f"{name}  {e.patient_id or '-'}  case {e.case_id}  "
            f"({e.profile_name} v{e.profile_version})"
        )
        for status, sites in e.sources:
            click.echo(f"    {status.replace('_', ' '):13} {sites}")
    if len(found.entries) == limit:
        click.echo(f"(first {limit} cases; raise --limit for more)")
    if found.not_summarised:
        click.echo(
            f"{found.not_summarised} case(s) have no current summary ({under}) and are not "
            "listed: run `blockplan case sources --refresh`"
        )


@case.command("show")
@click.argument("case_id")
@_db_option
@_json_option
def show(case_id: str, db: str | None, as_json: bool) -> None:
    """Show a case's summary, targets, blocks and audit trail (no patient identifiers)."""
    with _open(db) as store:
        loaded, _version = store.load(case_id)
        summary = store.summary(case_id)
        trail = store.audit(case_id)
    from blockplan.planning.wording import target_name

    targets = [
        {
            "id": t.id,
            "name": target_name(t),
            "level": t.level,
            "side": t.side.value,
            "structure": t.structure.value,
            "block_type": t.block_type.value,
        }
        for t in loaded.targets
    ]
    blocks = [
        {
            "id": p.id,
            "session_id": p.session_id,
            "performed_at": p.performed_at.isoformat(),
            "block_type": p.block_type.value,
            "agents": sorted(a.value for a in p.agents),
            "diary_points": 0 if p.diary is None else len(p.diary.entries),
        }
        for p in loaded.procedures
    ]
    if as_json:
        _echo_json(
            {
                "summary": summary.to_json_dict(),
                "targets": targets,
                "procedures": blocks,
                "audit": [e.to_json_dict() for e in trail],
            }
        )
        return
    click.echo(f"case {summary.case_id}  version {summary.version}")
    click.echo(f"  title:      {summary.title}")
    click.echo(f"  created:    {_when(summary.created_at)}")
    click.echo(f"  changed:    {_when(summary.updated_at)}")
    click.echo(
        f"  levels {summary.n_levels}, scar regions {summary.n_scar_regions}, "
        f"targets {summary.n_targets}, trajectories {summary.n_trajectories}, "
        f"blocks {summary.n_procedures} ({summary.n_diaries} with a diary)"
    )
    for t in targets:
        click.echo(
            f"  target {t['id']}: {t['name']} — {t['level'] or '-'} {t['side']} "
            f"{t['structure']} ({t['block_type']})"
        )
    for b in blocks:
        click.echo(
            f"  block {b['id']}: {b['performed_at']} {b['block_type']} "
            f"{'+'.join(b['agents'])}, {b['diary_points']} diary points, "
            f"session {b['session_id']}"
        )
    click.echo("  audit trail:")
    for e in trail:
        click.echo(f"    v{e.version:<4} {_when(e.at)}  {e.user:16} {e.action:8} {e.summary}")


@case.command("export")
@click.argument("case_id")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Case file to write (mode 0600).",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@_db_option
@_user_option
def export(case_id: str, output: Path, force: bool, db: str | None, user: str | None) -> None:
    """Write a case to a versioned, checksummed JSON case file."""
    from blockplan.case.casefile import save_case_file

    user = _user(user)
    if output.exists() and not force:
        raise CaseFileError(f"{output}: exists; choose another name or pass --force to replace it")
    with _open(db) as store:
        loaded, version = store.load(case_id)
        written = save_case_file(loaded, output)
        store.record(case_id, user, "export", f"version {version} exported to a case file")
    click.echo(f"exported case {case_id} version {version} to {written}")


@case.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--new-id", is_flag=True, help="Store each case under a fresh case id (a copy).")
@_db_option
@_user_option
@_json_option
def import_(
    files: tuple[Path, ...], new_id: bool, db: str | None, user: str | None, as_json: bool
) -> None:
    """Import case files: all are validated first, then stored in one transaction."""
    from blockplan.case.casefile import load_case_file
    from blockplan.case.model import Case

    user = _user(user)
    with tty_steps("case import", len(files) + 1) as step:
        cases = []
        for n, path in enumerate(files, start=1):
            step(f"reading case file {n} of {len(files)}")  # a file's name may name the patient
            cases.append(load_case_file(path))
        if new_id:
            cases = [c.evolve(case_id=Case().case_id) for c in cases]
        step("storing")
        with _open(db) as store:
            versions = store.create_many(
                cases, user, action="import", summary="imported from a case file"
            )
    result = [
        {"file": str(f), "case_id": c.case_id, "version": v, "title": c.title}
        for f, c, v in zip(files, cases, versions, strict=True)
    ]
    if as_json:
        _echo_json(result)
        return
    for item in result:
        click.echo(f"imported {item['file']} as case {item['case_id']} version {item['version']}")
