"""``blockplan archive`` and ``blockplan export``: archive a case to a folder or a PACS.

::

    blockplan archive CASE --images STUDY --to DIR
    blockplan archive CASE --images STUDY --to pacs://ORTHANC@pacs.example:4242 \\
        --calling-ae BLOCKPLAN [--tls-ca ca.pem [--tls-cert me.pem --tls-key me.key]]
    blockplan archive CASE --images STUDY --to https://pacs.example/dicom-web
    blockplan archive --retry --to pacs://ORTHANC@pacs.example:4242
    blockplan export CASE --images STUDY --deidentify --to DIR [--dates shift:key|remove|keep]

CASE is a case file (``*.blockplan.json``); STUDY the folder of the images the plan was
made on (the series holding the scar, else the one in the targets' frame of reference).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from blockplan._cli_progress import tty_steps
from blockplan.errors import (
    EXIT_BAD_INPUT,
    EXIT_PACS_UNAVAILABLE,
    ArchiveError,
    ArchiveRefusedError,
    BlockplanError,
    PacsError,
    PacsUnavailableError,
)

if TYPE_CHECKING:  # the commands' --help import no stage (`blockplan.cli`)
    import ssl

    from blockplan.archive.deid import BurnedIn
    from blockplan.archive.jobs import ArchiveOutcome
    from blockplan.case.model import Case

__all__ = ["archive", "export"]


def _load(case_path: str, images: str | None) -> Case:
    from blockplan.case.casefile import load_case_file

    case = load_case_file(case_path)
    if images is None:
        raise ArchiveError(
            "--images is required: the folder of the study the plan was made on (the DICOM "
            "objects must reference its images)"
        )
    return case


def _ssl_context(ca: str | None, cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if ca is None and cert is None:
        return None
    import ssl

    try:
        ctx = ssl.create_default_context(cafile=ca)
        if cert is not None:
            ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as err:
        raise PacsError(
            f"TLS files cannot be used ({err}); check --tls-ca/--tls-cert/--tls-key"
        ) from err
    return ctx


_ARCHIVE_STEPS = 4  # `archive_case`: read the images, find the report, build, write or send
_EXPORT_STEPS = 3  # `export_deidentified`: read the images, de-identify and rebuild, write

_TO_HELP = "DIR (a new folder), pacs://AE@host:port (C-STORE) or http(s)://…/dicom-web (STOW-RS)"


@click.command()
@click.argument("case_file", required=False, type=click.Path(dir_okay=False))
@click.option("--images", type=click.Path(exists=True), help="Study folder the plan was made on.")
@click.option(
    "--to",
    "to",
    default=None,
    help=_TO_HELP + "; default: the configured archive_destination (blockplan config).",
)
@click.option(
    "--pdf",
    type=click.Path(exists=True, dir_okay=False),
    help="Use this report PDF instead of building it.",
)
@click.option(
    "--calling-ae",
    default=None,
    help="Our AE title (default: the configured calling_ae_title, BLOCKPLAN unless set).",
)
@click.option(
    "--tls-ca",
    type=click.Path(exists=True, dir_okay=False),
    help="CA certificates (PEM) to trust; enables DICOM TLS / https verification.",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False),
    help="Client certificate (PEM) for DICOM TLS.",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False),
    help="Private key (PEM) of --tls-cert.",
)
@click.option(
    "--outbox",
    type=click.Path(file_okay=False),
    help="Outbox folder (default: blockplan's data folder, ~/.local/share/blockplan/outbox).",
)
@click.option("--retry", is_flag=True, help="Send what waits in the outbox to --to.")
@click.option(
    "--author",
    default="",
    help="Only when no signed report is kept for the case (first build): the physician.",
)
@click.option(
    "--clinic", default="", help="Only when no signed report is kept (first build): the clinic."
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def archive(
    case_file: str | None,
    images: str | None,
    to: str | None,
    pdf: str | None,
    calling_ae: str | None,
    tls_ca: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    outbox: str | None,
    retry: bool,
    author: str,
    clinic: str,
    as_json: bool,
) -> None:
    """Archive CASE_FILE: report PDF, Encapsulated PDF, SR, SEG and the case file.

    The report is the signed one: --pdf (checked: PDF/A of this case), else the one kept
    with the case (written by `blockplan report`), byte for byte; one is built only when
    none was kept. Archiving the same report again adds nothing (same UIDs). To a folder
    (with manifest.json, written atomically) or to a PACS. A failed send keeps the objects
    in the outbox; --retry sends them later. Exit status 2: bad input; 3: the PACS is
    unreachable or refused (retry later).
    """
    with _json_errors(as_json):
        _archive(
            case_file,
            images,
            to,
            pdf,
            calling_ae,
            (tls_ca, tls_cert, tls_key),
            outbox,
            retry,
            author,
            clinic,
            as_json,
        )


def _archive(
    case_file: str | None,
    images: str | None,
    to: str | None,
    pdf: str | None,
    calling_ae: str | None,
    tls_files: tuple[str | None, str | None, str | None],
    outbox: str | None,
    retry: bool,
    author: str,
    clinic: str,
    as_json: bool,
) -> None:
    from blockplan.settings import load_settings

    tls_ca, tls_cert, tls_key = tls_files
    settings = load_settings()
    to = to or settings.archive_destination
    if not to:
        raise ArchiveError(
            "no destination: pass --to DIR|pacs://AE@host:port|https://…/dicom-web, or set a "
            "default with: blockplan config set archive_destination …"
        )
    calling_ae = calling_ae or settings.calling_ae_title
    ctx = _ssl_context(tls_ca, tls_cert, tls_key)
    from blockplan.archive.jobs import archive_case, send_waiting

    if retry:
        with tty_steps("archive --retry", 1) as progress:
            done = send_waiting(
                to,
                calling_ae=calling_ae,
                tls=ctx,
                ca_bundle=tls_ca,
                outbox=outbox,
                progress=progress,
            )
        _print_outcome(
            done, as_json, f"sent {len(done.sent)} waiting object(s) to {done.destination}"
        )
        return
    if case_file is None:
        raise ArchiveError("CASE_FILE is required (or --retry to send the outbox)")
    case = _load(case_file, images)
    options = None
    if author or clinic:
        from blockplan.report.options import ReportOptions

        options = ReportOptions.from_settings(author=author, clinic_name=clinic)
    given = _read_pdf(pdf) if pdf else None
    with tty_steps("archive", _ARCHIVE_STEPS) as progress:
        done = archive_case(
            case,
            str(images),
            to,
            pdf=given,
            report_options=options,
            calling_ae=calling_ae,
            tls=ctx,
            ca_bundle=tls_ca,
            outbox=outbox,
            progress=progress,
        )
    where = (
        f"archived case to {done.folder}"
        if done.folder is not None
        else (f"sent {len(done.sent)} object(s) to {done.destination}")
    )
    how = "built now (first report of the case)" if done.report_built else "the signed report"
    _print_outcome(done, as_json, f"{where}; report {done.report_id}: {how}")


def _read_pdf(path: str) -> bytes:
    target = Path(path)
    if not target.is_file():
        raise ArchiveError(f"--pdf {path}: not a regular file; give the report PDF")
    try:
        return target.read_bytes()
    except OSError as err:
        raise ArchiveError(f"--pdf {path}: cannot be read ({err.strerror or err})") from err


def _print_outcome(done: ArchiveOutcome, as_json: bool, line: str) -> None:
    if as_json:
        click.echo(json.dumps(done.to_json(), indent=2))
        return
    click.echo(line)
    for warning in done.warnings:
        click.echo(f"warning: {warning}")
    if done.waiting:
        click.echo(
            f"note: {done.waiting} object(s) still wait in the outbox {done.outbox}; send them "
            "with `blockplan archive --retry --to …`"
        )


@contextlib.contextmanager
def _json_errors(as_json: bool) -> Iterator[None]:
    """With --json, a failure is also printed as JSON on stdout (then exits as usual).

    A refusal (`ArchiveRefusedError`: the folder holds another archive or export, or part
    of one; nothing was written) is said as one: "blockplan: not archived: …" on stderr, not
    "error:", with exit status 2 all the same (nothing done) and ``"refused": true``.
    """
    try:
        yield
    except BlockplanError as err:
        status = EXIT_PACS_UNAVAILABLE if isinstance(err, PacsUnavailableError) else EXIT_BAD_INPUT
        refused = isinstance(err, ArchiveRefusedError)
        if as_json:
            said: dict[str, object] = {"ok": False, "error": str(err), "exit_status": status}
            if refused:
                said["refused"] = True
            click.echo(json.dumps(said))
        if isinstance(err, ArchiveRefusedError):
            click.echo(f"blockplan: not {err.verb}: {err}", err=True)
            sys.exit(status)
        raise


@click.command()
@click.argument("case_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--images", type=click.Path(exists=True), help="Study folder the plan was made on.")
@click.option(
    "--deidentify/--no-deidentify",
    default=False,
    help="Apply the PS3.15 Basic Application Level Confidentiality Profile.",
)
@click.option("--to", "to", required=True, type=click.Path(), help="New folder to write.")
@click.option(
    "--dates",
    default="shift:key",
    show_default=True,
    help="shift:key (each patient's dates move by 1–10 years, derived from the key), "
    "shift:<days> (e.g. shift:-365), remove, or keep (real dates).",
)
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Secret key for UID and pseudonym hashing (same key: same results); "
    "default: a random key (exports cannot be linked).",
)
@click.option(
    "--free-text",
    type=click.Choice(["scrub", "remove"]),
    default="scrub",
    show_default=True,
    help="Scrub patient identifiers from free text, or empty it.",
)
@click.option(
    "--burned-in",
    type=click.Choice(["refuse", "masked", "consent"]),
    default="refuse",
    show_default=True,
    help="Images whose pixels may show text (BurnedInAnnotation YES, screen captures): "
    "refuse them, include them because the text was masked (declared as Clean Pixel Data), "
    "or include them with the patient's consent (recorded).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def export(
    case_file: str,
    images: str | None,
    deidentify: bool,
    to: str,
    dates: str,
    key_file: str | None,
    free_text: str,
    burned_in: str,
    as_json: bool,
) -> None:
    """Export CASE_FILE to a folder; with --deidentify, de-identified (see the README)."""
    with _json_errors(as_json):
        _export(case_file, images, deidentify, to, dates, key_file, free_text, burned_in, as_json)


def _export(
    case_file: str,
    images: str | None,
    deidentify: bool,
    to: str,
    dates: str,
    key_file: str | None,
    free_text: str,
    burned_in: str,
    as_json: bool,
) -> None:
    from blockplan.archive.deid import DatePolicy
    from blockplan.archive.jobs import archive_case, export_deidentified

    case = _load(case_file, images)
    if not deidentify:
        with tty_steps("export", _ARCHIVE_STEPS) as progress:
            try:
                done = archive_case(case, str(images), to, progress=progress)
            except ArchiveRefusedError as err:
                err.verb = "exported"  # an export, though written as an archive folder
                raise
        _print_outcome(done, as_json, f"exported case to {done.folder}")
        return
    key = None
    if key_file is not None:
        key = Path(key_file).read_bytes().strip()
        if len(key) < 16:
            raise ArchiveError(f"{key_file}: key is {len(key)} bytes; use at least 16")
    with tty_steps("export --deidentify", _EXPORT_STEPS) as progress:
        out = export_deidentified(
            case,
            str(images),
            to,
            dates=dates,
            key=key,
            free_text="remove" if free_text == "remove" else "scrub",
            burned_in=cast("BurnedIn", burned_in),  # click.Choice checked it
            progress=progress,
        )
    how = DatePolicy.parse(dates).description()
    if as_json:
        result = {"format": "blockplan.export-outcome", "version": 1, "ok": True}
        result.update(folder=str(out), deidentified=True, dates=how, burned_in=burned_in)
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"exported de-identified case to {out} ({how})")
