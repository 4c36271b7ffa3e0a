"""One settings object for every face of Accueil (TUI, CLI, portal, worker).

Values come, in rising priority, from the field defaults, a TOML file (the platformdirs
config folder's ``accueil.toml``, or the path in ``ACCUEIL_CONFIG``) and environment variables
named ``ACCUEIL_<FIELD>`` (nested sections joined with ``__``, e.g. ``ACCUEIL_SMTP__HOST``).
An unknown key in either place is refused with the key named, so a typo never silently falls
back to a default. Nothing here touches the disk except reading the TOML file, and no folder is
created at import time.
"""

from __future__ import annotations

import os
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

APP_NAME = "accueil"
ENV_PREFIX = "ACCUEIL_"


class SettingsError(Exception):
    """A settings file or variable that cannot be used; ``message`` names the key."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def doc(text: str) -> dict[str, str]:
    """Field metadata carrying the documentation shown by ``accueil settings``."""
    return {"doc": text}


@dataclass(frozen=True)
class SmtpSettings:
    """How the worker reaches the clinic's mail relay (used when ``mail_transport = "smtp"``)."""

    host: str = field(default="localhost", metadata=doc("SMTP server host name."))
    port: int = field(default=587, metadata=doc("SMTP server port."))
    security: Literal["starttls", "tls", "none"] = field(
        default="starttls", metadata=doc("starttls (port 587), tls (port 465) or none (loopback tests only).")
    )
    username: str | None = field(default=None, metadata=doc("SMTP login, if the server asks for one."))
    password: str | None = field(default=None, repr=False, metadata=doc("SMTP password; never logged."))
    timeout_seconds: float = field(default=30.0, metadata=doc("Socket timeout for one SMTP conversation."))


@dataclass(frozen=True)
class SenderSettings:
    """The custom From address's checks and signing (SI-2..SI-4); see ``core/sender``."""

    dns_server: str | None = field(default=None, metadata=doc("Resolver address for the DNS checks. Empty: the system's."))
    dns_port: int = field(default=53, metadata=doc("Resolver port (tests point it at a loopback server)."))
    dns_timeout_seconds: float = field(default=5.0, metadata=doc("How long one DNS check may take before 'could not check'."))
    spf_include: str = field(default="_spf.accueil.example",
                             metadata=doc("The product's SPF domain a clinic's record must include."))
    dkim_selectors: dict[str, str] = field(
        default_factory=lambda: {"accueil1": "accueil1._domainkey.accueil.example",
                                 "accueil2": "accueil2._domainkey.accueil.example"},
        metadata=doc("DKIM selector = the product's key host its CNAME must point at; the first one signs."))
    dkim_key_file: Path | None = field(
        default=None, metadata=doc("The product's DKIM private key (mode 600). Empty: `dkim.key` in the config folder."))
    operator_email: str | None = field(default=None, metadata=doc("Where custom From approval requests are emailed."))


@dataclass(frozen=True)
class RetrySettings:
    """How the worker retries a temporary failure (4xx, connection trouble), RFC 5321 §4.5.4.1 in
    spirit: the n-th failed attempt waits min(base × factor^(n-1), cap) seconds; after
    ``max_attempts`` the message is failed and shown to staff."""

    base_seconds: float = field(default=60.0, metadata=doc("Wait after the first temporary failure, in seconds."))
    factor: float = field(default=2.0, metadata=doc("Each further failure multiplies the wait by this."))
    cap_seconds: float = field(default=3600.0, metadata=doc("The longest wait between two attempts, in seconds."))
    max_attempts: int = field(default=100, metadata=doc("Attempts before the message is marked failed."))

    def __post_init__(self) -> None:
        if not self.base_seconds > 0:
            raise SettingsError(f"setting 'retry.base_seconds' must be more than 0, not {self.base_seconds!r}")
        if not self.factor >= 1:
            raise SettingsError(f"setting 'retry.factor' must be 1 or more, not {self.factor!r}")
        if not self.cap_seconds >= self.base_seconds:
            raise SettingsError("setting 'retry.cap_seconds' must be at least 'retry.base_seconds'")
        if not self.max_attempts >= 1:
            raise SettingsError(f"setting 'retry.max_attempts' must be 1 or more, not {self.max_attempts!r}")


@dataclass(frozen=True)
class Settings:
    """Every setting Accueil reads. Each field's ``doc`` metadata is its documentation."""

    database_url: str | None = field(
        default=None,
        metadata=doc(
            "SQLAlchemy URL. Empty: an SQLite file `accueil.db` in the data folder. "
            "PostgreSQL: postgresql+psycopg://user@host/dbname."
        ),
    )
    data_dir: Path | None = field(
        default=None, metadata=doc("Folder for the SQLite file, the local mailbox and imports. Empty: platformdirs.")
    )
    config_dir: Path | None = field(
        default=None, metadata=doc("Folder holding the site key file. Empty: the platformdirs config folder.")
    )
    key_file: Path | None = field(
        default=None, metadata=doc("Site encryption key file (mode 600). Empty: `site.key` in the config folder.")
    )
    site_key: str | None = field(
        default=None,
        repr=False,
        metadata=doc("The site encryption key itself (prefer the key file). Never stored in the database."),
    )
    language: Literal["en", "fr"] = field(default="en", metadata=doc("Default interface language: en or fr."))
    search_page_size: int = field(default=50, metadata=doc("Patients shown per search page (bounded)."))
    sqlite_busy_timeout_ms: int = field(
        default=5000, metadata=doc("How long an SQLite writer waits for another session's lock, in ms.")
    )
    mail_transport: Literal["mailbox", "smtp"] = field(
        default="mailbox", metadata=doc("mailbox: .eml files in the data folder (the default); smtp: a real server.")
    )
    smtp: SmtpSettings = field(default_factory=SmtpSettings, metadata=doc("SMTP relay settings."))
    retry: RetrySettings = field(default_factory=RetrySettings, metadata=doc("Retries of temporary failures."))
    noreply_address: str = field(
        default="no-reply@accueil.example",
        metadata=doc("The default From address (takes no replies); the site's friendly name is shown with it."),
    )
    portal_base_url: str = field(
        default="http://127.0.0.1:8765",
        metadata=doc("The patient portal's public address, used to build each patient's secure link."),
    )
    timezone: str = field(default="America/Toronto", metadata=doc("The clinic's time zone (IANA name)."))
    link_valid_days: int = field(default=30, metadata=doc("How long a secure-message link stays valid, in days."))
    sender: SenderSettings = field(default_factory=SenderSettings, metadata=doc("Custom From address settings."))
    push_gateway_url: str | None = field(
        default=None,
        metadata=doc("HTTPS address the worker posts push notifications to. Empty: they go to the local mailbox folder."),
    )
    push_gateway_token: str | None = field(
        default=None, repr=False, metadata=doc("Bearer token for the push gateway; never logged.")
    )
    push_timeout_seconds: float = field(default=10.0, metadata=doc("Timeout for one push gateway request."))
    lock_after_minutes: int = field(
        default=30, metadata=doc("Minutes without a key press before the terminal app locks (0: never).")
    )
    theme: str = field(
        default="dark", metadata=doc("Terminal app theme: dark, light, high-contrast or low-colour (16 colours).")
    )
    low_bandwidth: bool | None = field(
        default=None,
        metadata=doc("true: no animation, cursor blink or periodic redraw (ACCUEIL_LOW_BANDWIDTH=1). "
                     "Empty: on when the terminal reports 16 colours or fewer."),
    )
    keymap: dict[str, str] = field(
        default_factory=dict,
        metadata=doc("Key remapping: a [keymap] table of binding id = key(s), e.g. \"patients.open\" = \"f5\"."),
    )

    # -- derived locations -------------------------------------------------------------
    def resolved_data_dir(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        from platformdirs import user_data_dir

        return Path(user_data_dir(APP_NAME, appauthor=False))

    def resolved_config_dir(self) -> Path:
        if self.config_dir is not None:
            return self.config_dir
        from platformdirs import user_config_dir

        return Path(user_config_dir(APP_NAME, appauthor=False))

    def resolved_key_file(self) -> Path:
        return self.key_file if self.key_file is not None else self.resolved_config_dir() / "site.key"

    def resolved_dkim_key_file(self) -> Path:
        return self.sender.dkim_key_file or self.resolved_config_dir() / "dkim.key"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir() / 'accueil.db'}"

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def default_config_path(env: typing.Mapping[str, str]) -> Path:
    if env.get("ACCUEIL_CONFIG"):
        return Path(env["ACCUEIL_CONFIG"])
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False)) / "accueil.toml"


def load_settings(env: typing.Mapping[str, str] | None = None, config_path: Path | None = None) -> Settings:
    """Read the TOML file (if it exists) and the environment into one ``Settings``."""
    env = os.environ if env is None else env
    path = config_path if config_path is not None else default_config_path(env)
    values: dict[str, Any] = {}
    explicit = config_path is None and bool(env.get("ACCUEIL_CONFIG"))
    if path.exists():
        try:
            with path.open("rb") as handle:
                values = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML ({exc})") from exc
        except OSError as exc:
            raise SettingsError(f"{path}: cannot be read ({exc.strerror})") from exc
    elif explicit:
        raise SettingsError(f"settings file {path} (ACCUEIL_CONFIG) does not exist")
    settings = _build(Settings, values, source=str(path), prefix="")
    overrides = _env_overrides(env)
    if overrides:
        merged = _merge(_as_dict(settings), overrides)
        settings = _build(Settings, merged, source="environment", prefix="")
    return settings


def _env_overrides(env: typing.Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == "ACCUEIL_CONFIG":
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SettingsError(f"environment variable {name}: {part} is not a section")
        node[parts[-1]] = _EnvText(raw, name)
    return tree


class _EnvText(str):
    """A value read from the environment: still text, remembers its variable for errors."""

    variable: str

    def __new__(cls, value: str, variable: str) -> _EnvText:
        obj = super().__new__(cls, value)
        obj.variable = variable
        return obj


def _as_dict(obj: Any) -> dict[str, Any]:
    return {f.name: _as_dict(getattr(obj, f.name)) if is_dataclass(getattr(obj, f.name)) else getattr(obj, f.name)
            for f in fields(obj)}


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _build(cls: type, values: dict[str, Any], *, source: str, prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if key not in known:
            where = f"ACCUEIL_{dotted.upper().replace('.', '__')}" if source == "environment" else source
            raise SettingsError(f"unknown setting '{dotted}' ({where})")
        kwargs[key] = _coerce(hints[key], value, dotted=dotted, source=source)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, *, dotted: str, source: str) -> Any:
    origin = get_origin(hint)
    where = getattr(value, "variable", source)
    if is_dataclass(hint):
        if not isinstance(value, dict):
            raise SettingsError(f"setting '{dotted}' ({where}) must be a section")
        return _build(hint, value, source=source, prefix=f"{dotted}.")
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if value is None or (isinstance(value, str) and value == "" and len(options) < len(get_args(hint))):
            return None
        return _coerce(options[0], value, dotted=dotted, source=source)
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise SettingsError(f"setting '{dotted}' ({where}) must be a table of names to text")
        return dict(value)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise SettingsError(
                f"setting '{dotted}' ({where}) must be one of {', '.join(map(str, allowed))}, not {value!r}"
            )
        return str(value)
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if hint is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if hint is float:
            return float(value)
        if hint is Path:
            return Path(str(value)).expanduser()
        if hint is str:
            return str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"setting '{dotted}' ({where}) must be a {hint.__name__}, not {value!r}") from None
    raise SettingsError(f"setting '{dotted}' has an unsupported type")  # pragma: no cover - programming error


def describe_settings(cls: type = Settings, prefix: str = "") -> list[tuple[str, str, str]]:
    """(key, default, documentation) for every field, sections flattened: for docs and `accueil settings`."""
    rows: list[tuple[str, str, str]] = []
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        if is_dataclass(hints[f.name]):
            rows.extend(describe_settings(hints[f.name], prefix=f"{prefix}{f.name}."))
            continue
        default = f.default if f.default is not MISSING else ""
        rows.append((f"{prefix}{f.name}", "" if default is None else str(default), f.metadata.get("doc", "")))
    return rows
