"""Settings: defaults, TOML file, environment, and unknown keys refused with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings, SettingsError, describe_settings, load_settings


def test_defaults_put_the_database_in_the_data_folder(tmp_path: Path) -> None:
    settings = load_settings(env={"ACCUEIL_DATA_DIR": str(tmp_path)}, config_path=tmp_path / "absent.toml")
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'accueil.db'}"


def test_toml_then_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "accueil.toml"
    path.write_text('language = "fr"\nsearch_page_size = 30\n[smtp]\nhost = "relay.example.org"\nport = 2525\n')
    settings = load_settings(env={"ACCUEIL_CONFIG": str(path), "ACCUEIL_SMTP__PORT": "465"})
    assert settings.language == "fr"
    assert settings.search_page_size == 30
    assert settings.smtp.host == "relay.example.org"
    assert settings.smtp.port == 465


@pytest.mark.parametrize(
    ("toml", "env", "named"),
    [
        ("langage = 'fr'\n", {}, "langage"),
        ("[smtp]\nhots = 'x'\n", {}, "smtp.hots"),
        ("", {"ACCUEIL_DATABSE_URL": "sqlite://"}, "ACCUEIL_DATABSE_URL"),
        ("", {"ACCUEIL_SMTP__PROT": "25"}, "smtp.prot"),
    ],
)
def test_unknown_keys_are_refused_with_the_key_named(tmp_path: Path, toml: str, env: dict[str, str],
                                                      named: str) -> None:
    path = tmp_path / "accueil.toml"
    path.write_text(toml)
    with pytest.raises(SettingsError) as caught:
        load_settings(env={"ACCUEIL_CONFIG": str(path), **env})
    assert named in caught.value.message


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"ACCUEIL_LANGUAGE": "de"}, "must be one of en, fr"),
        ({"ACCUEIL_SEARCH_PAGE_SIZE": "many"}, "must be a int"),
        ({"ACCUEIL_SMTP__PORT": "x"}, "smtp.port"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env=env, config_path=tmp_path / "absent.toml")
    assert fragment in caught.value.message


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(env={"ACCUEIL_CONFIG": str(tmp_path / "nope.toml")})


def test_secrets_stay_out_of_repr() -> None:
    text = repr(Settings(site_key="Secret-Key-Value-1!"))
    assert "Secret-Key-Value-1!" not in text


def test_every_setting_is_documented() -> None:
    rows = describe_settings()
    assert {"database_url", "smtp.host"} <= {key for key, _, _ in rows}
    assert all(doc for _, _, doc in rows)


def test_keymap_table(tmp_path: Path) -> None:
    path = tmp_path / "accueil.toml"
    path.write_text('[keymap]\n"patients.open" = "f5"\n')
    assert load_settings(env={"ACCUEIL_CONFIG": str(path)}).keymap == {"patients.open": "f5"}
    path.write_text('keymap = "f5"\n')
    with pytest.raises(SettingsError, match="keymap"):
        load_settings(env={"ACCUEIL_CONFIG": str(path)})


def test_the_retry_back_off_comes_from_the_settings(tmp_path) -> None:
    from datetime import timedelta

    from core.outbox.worker import configured_policy

    path = tmp_path / "accueil.toml"
    path.write_text("[retry]\nbase_seconds = 30\nfactor = 3\ncap_seconds = 600\nmax_attempts = 12\n", encoding="utf-8")
    policy = configured_policy(load_settings(env={"ACCUEIL_CONFIG": str(path), "ACCUEIL_RETRY__FACTOR": "4"}))
    assert (policy.base_seconds, policy.factor, policy.cap_seconds, policy.max_attempts) == (30, 4, 600, 12)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (30, 120, 480, 600)]


@pytest.mark.parametrize("line", ["base_seconds = 0", "factor = 0.5", "cap_seconds = 10", "max_attempts = 0"])
def test_a_nonsensical_back_off_is_refused_by_name(tmp_path, line: str) -> None:
    path = tmp_path / "accueil.toml"
    path.write_text(f"[retry]\n{line}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"retry\." + line.split()[0]):
        load_settings(env={"ACCUEIL_CONFIG": str(path)})
