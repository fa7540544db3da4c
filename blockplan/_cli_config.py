"""``blockplan config``: show and change the clinician settings (`blockplan.settings`)."""

from __future__ import annotations

import json

import click

from blockplan.cli import ErrorReportingGroup

__all__ = ["config"]


@click.group(cls=ErrorReportingGroup)
def config() -> None:
    """Clinician settings: clinician name, clinic, archive destination, AE title, profile."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(as_json: bool) -> None:
    """Show every setting and the file it is kept in."""
    from blockplan.settings import load_settings, settings_path

    settings = load_settings()
    if as_json:
        click.echo(json.dumps(settings.model_dump(), indent=2, ensure_ascii=False))
        return
    click.echo(f"# {settings_path()}")
    for key, value in settings.model_dump().items():
        shown = json.dumps(value, ensure_ascii=False) if value else "(not set)"
        click.echo(f"{key:20} {shown}")


@config.command("set")
@click.argument("key")
@click.argument("value")
def set_(key: str, value: str) -> None:
    """Set KEY to VALUE (e.g. clinician_name "Dr A. Example"); saved at once."""
    from blockplan.settings import load_settings, save_settings, set_value, setting_name

    updated = set_value(load_settings(), key, value)
    path = save_settings(updated)
    name = setting_name(key)
    click.echo(f"{name} = {json.dumps(getattr(updated, name), ensure_ascii=False)} ({path})")


@config.command("unset")
@click.argument("key")
def unset(key: str) -> None:
    """Return KEY to its default."""
    from blockplan.settings import load_settings, save_settings, set_value, setting_name

    updated = set_value(load_settings(), key, None)
    path = save_settings(updated)
    name = setting_name(key)
    click.echo(f"{name} reset to {json.dumps(getattr(updated, name), ensure_ascii=False)} ({path})")
