"""Clinician settings and the per-user folders (platformdirs, XDG honoured)."""

from __future__ import annotations

import getpass
import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from blockplan.cli import main
from blockplan.errors import SettingsError
from blockplan.settings import (
    SETTINGS_KEYS,
    UNCONFIGURED_OPERATOR,
    Settings,
    load_settings,
    operator_name,
    require_clinician,
    save_settings,
    set_value,
    settings_path,
)


def run(*args: str, ok: bool = True) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def no_login(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OS login must never be consulted: make it fail loudly."""

    def refuse() -> str:
        raise AssertionError("getpass.getuser() was called")

    monkeypatch.setattr(getpass, "getuser", refuse)


# --- folders ---------------------------------------------------------------------------
def test_every_user_folder_honours_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blockplan.archive.pacs import default_outbox
    from blockplan.case.store import default_db_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_db_path() == tmp_path / "data" / "blockplan" / "cases.sqlite3"
    assert default_outbox() == tmp_path / "data" / "blockplan" / "outbox"
    assert settings_path() == tmp_path / "config" / "blockplan" / "settings.json"
    from blockplan._paths import user_cache_dir

    assert user_cache_dir() == tmp_path / "cache" / "blockplan"


def test_folders_fall_back_to_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blockplan.archive.pacs import default_outbox

    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_outbox() == tmp_path / ".local/share/blockplan/outbox"
    assert settings_path() == tmp_path / ".config/blockplan/settings.json"


def test_sample_study_is_generated_into_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import blockplan.sample as sample
    from blockplan.sample import locate

    made: list[Path] = []

    def fake_generate(target: Path, seed: int, progress: object = None) -> None:
        made.append(Path(target))

    monkeypatch.delenv("BLOCKPLAN_SAMPLE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(locate, "_checkout_copy", lambda: None)
    monkeypatch.setattr(sample, "generate_sample_study", fake_generate)
    found = locate.sample_study_path()
    assert found.parent == tmp_path / "cache" / "blockplan"
    assert made == [found]


# --- the settings file -------------------------------------------------------------------
def test_defaults_when_no_file_exists() -> None:
    assert not settings_path().exists()
    settings = load_settings()
    assert settings == Settings()
    assert not settings.clinician_configured
    assert settings.calling_ae_title == "BLOCKPLAN"
    assert settings.default_profile == "asra-2020-single"


def test_save_is_private_and_round_trips() -> None:
    settings = Settings(
        clinician_name="Dr A. Example",
        clinic_name="Synthetic Spine Clinic",
        clinic_address="1 Example Street\\nSampletown",
        archive_destination="pacs://ORTHANC@127.0.0.1:4242",
        calling_ae_title="BP_WS1",
        default_profile="strict-dual-80",
    )
    assert settings.clinic_address == "1 Example Street\nSampletown"
    path = save_settings(settings)
    assert path == settings_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["settings_version"] == 1 and doc["clinician_name"] == "Dr A. Example"
    assert load_settings() == settings
    save_settings(settings.model_copy(update={"clinic_name": "Other"}))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # also when replacing
    assert load_settings().clinic_name == "Other"


def test_keys_of_a_newer_release_are_ignored() -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"settings_version": 9, "clinician_name": "Dr B", "new": 1}))
    assert load_settings().clinician_name == "Dr B"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", r"settings\.json: not UTF-8 JSON"),
        (b"[1, 2]", r"settings\.json: expected a JSON object"),
        (b'{"calling_ae_title": "WAY_TOO_LONG_AE_TITLE"}', r"calling_ae_title: an AE title"),
        (b'{"clinician_name": "a\\nb"}', r"clinician_name: must be one line"),
        (b'{"archive_destination": "ftp://x"}', r"archive_destination: expected a folder"),
    ],
)
def test_bad_files_are_refused_naming_file_and_field(content: bytes, message: str) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(SettingsError, match=message) as info:
        load_settings()
    assert "blockplan config set" in str(info.value)


def test_set_value_validates_and_names_the_keys() -> None:
    assert set_value(Settings(), "clinician-name", " Dr C ").clinician_name == "Dr C"
    with pytest.raises(SettingsError, match=r"unknown setting 'colour'.*clinician_name"):
        set_value(Settings(), "colour", "red")
    with pytest.raises(SettingsError, match=r"archive_destination: a PACS is written"):
        set_value(Settings(), "archive_destination", "pacs://no-port-here")
    reset = set_value(Settings(calling_ae_title="X"), "calling_ae_title", None)
    assert reset.calling_ae_title == "BLOCKPLAN"


# --- the operator is the configured clinician, never the login ----------------------------
def test_operator_is_the_configured_clinician(no_login: None) -> None:
    with pytest.raises(SettingsError, match=r"no clinician is configured.*config set clinician"):
        require_clinician()
    assert operator_name() == UNCONFIGURED_OPERATOR
    save_settings(Settings(clinician_name="Dr A. Example"))
    assert require_clinician() == "Dr A. Example" == operator_name()


def test_operator_name_survives_a_broken_file(no_login: None) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text("{")
    assert operator_name() == UNCONFIGURED_OPERATOR


# --- blockplan config --------------------------------------------------------------------
def test_config_cli_show_set_unset() -> None:
    _, out, _ = run("config", "show")
    assert str(settings_path()) in out and "clinician_name" in out and "(not set)" in out
    _, out, _ = run("config", "set", "clinician_name", "Dr A. Example")
    assert 'clinician_name = "Dr A. Example"' in out
    run("config", "set", "clinic-address", "1 Example Street\\nSampletown")
    _, out, _ = run("config", "show", "--json")
    shown = json.loads(out)
    assert set(shown) == set(SETTINGS_KEYS)
    assert shown["clinician_name"] == "Dr A. Example"
    assert shown["clinic_address"] == "1 Example Street\nSampletown"
    run("config", "unset", "clinic_address")
    assert load_settings().clinic_address == ""


def test_config_cli_errors_are_one_line_exit_2() -> None:
    code, _, err = run("config", "set", "colour", "red", ok=False)
    assert code == 2 and err.count("\n") == 1 and "unknown setting 'colour'" in err
    code, _, err = run("config", "set", "calling_ae_title", "A\\B", ok=False)
    assert code == 2 and "AE title" in err and "Traceback" not in err
    assert not settings_path().exists()  # nothing written on error
