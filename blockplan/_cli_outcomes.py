"""``blockplan outcomes``: the evidence ledger of a case file, as text or JSON.

Decision support, not a medical device.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from blockplan._cli_types import ProfileRef

if TYPE_CHECKING:
    from blockplan.case.model import Case


def _load_case(path: Path) -> Case:
    """Load a blockplan case file (`blockplan.case.casefile.load_case_file`)."""
    from blockplan.case.casefile import load_case_file

    return load_case_file(path)


@click.command()
@click.argument(
    "case_path", metavar="CASE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--profile",
    "profile_name",
    type=ProfileRef(),
    default=None,
    help="Profile name (e.g. strict-dual-80) or profile JSON path; default: the case's profile.",
)
@click.option(
    "--payer",
    "payer_profiles",
    multiple=True,
    type=ProfileRef(),
    metavar="NAME|PATH",
    help="Print the payer-documentation checklist under this payer profile instead "
    "(e.g. cms-lcd-l38773-facet, cms-lcd-l39242-esi; repeatable). Not a coverage decision.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the ledger (or checklists) as JSON.")
def outcomes(
    case_path: Path, profile_name: str | None, payer_profiles: tuple[str, ...], as_json: bool
) -> None:
    """Print the evidence ledger of CASE under a profile (decision support).

    Sources are ranked confirmed, probable, indeterminate, excluded; each block is listed
    with its relief curve, flags and verdict; suggestions name their rule and citation.
    With --payer: the payer-documentation checklist (met / not met / not recorded).
    """
    from blockplan.outcomes.ledger import build_ledger
    from blockplan.outcomes.profiles import load_profile
    from blockplan.outcomes.scores import odi_changes, score_odi, score_pgic
    from blockplan.outcomes.text import ledger_to_text

    case = _load_case(case_path)
    if payer_profiles:
        _print_payer_checklists(case, payer_profiles, as_json)
        return
    profile = load_profile(profile_name or case.profile_name)
    ledger = build_ledger(case, profile)
    odi = tuple(score_odi(e) for e in sorted(case.odi, key=lambda e: e.recorded_on))
    changes = odi_changes(case.odi)
    pgic = score_pgic(case.pgic)
    if as_json:
        payload = {
            "decision_support": ledger.disclaimer,
            "ledger": ledger.model_dump(mode="json"),
            "odi": [s.model_dump(mode="json") for s in odi],
            "odi_changes": [c.model_dump(mode="json") for c in changes],
            "pgic": [p.model_dump(mode="json") for p in pgic],
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    click.echo(ledger_to_text(ledger, odi=odi, odi_changes=changes, pgic=pgic), nl=False)


def _print_payer_checklists(case: Case, names: tuple[str, ...], as_json: bool) -> None:
    """Each payer checklist (`blockplan.outcomes.payer.evaluate_checklist`), text or JSON."""
    from blockplan.outcomes.payer import checklist_to_text, evaluate_checklist

    checklists = [evaluate_checklist(case, name) for name in names]
    if as_json:
        payload = [c.model_dump(mode="json") for c in checklists]
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    click.echo("\n".join(checklist_to_text(c) for c in checklists), nl=False)
