"""Settings: ``outreach.toml`` plus ``OUTREACH_*`` environment variables.

One frozen :class:`Settings` object is built per command. The file is found
from ``--config FILE``, then ``OUTREACH_CONFIG``, then ``./outreach.toml``;
a missing file means the documented defaults. Every key can be overridden by
``OUTREACH_<SECTION>_<KEY>`` (``OUTREACH_SMTP_URL``, ``OUTREACH_DATABASE_URL``).
Passwords are never read from the file: only ``OUTREACH_SMTP_PASSWORD`` /
``OUTREACH_IMAP_PASSWORD`` (or a prompt, done by the CLI) supply them, and
nothing here writes them anywhere.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from outreach.errors import ConfigError

CONFIG_NAME = "outreach.toml"
PLACEHOLDER_DOMAIN = "example.org"


@dataclass(frozen=True)
class General:
    #: the campaigner's name, recorded as the actor of every audit event
    campaigner: str = ""
    #: time zone used to show times to the campaigner (IANA name; empty: the system's)
    timezone: str = ""


@dataclass(frozen=True)
class Database:
    #: sqlite://FILE (relative to the config file's folder) or postgres://user@host/db
    url: str = "sqlite://outreach.db"


@dataclass(frozen=True)
class Sender:
    name: str = "Interpol Reform Coalition"
    address: str = f"campaign@{PLACEHOLDER_DOMAIN}"
    reply_to: str = ""
    organisation: str = "Interpol Reform Coalition"
    #: the signature block under each letter (several lines allowed)
    signature: str = "The Interpol Reform Coalition"
    website: str = ""
    #: a List-Unsubscribe URL or mailto:; empty means no such header (the default)
    list_unsubscribe: str = ""
    #: add a per-delivery token to Reply-To and the envelope sender (replies+TOKEN@…)
    plus_addressing: bool = False


@dataclass(frozen=True)
class Smtp:
    #: smtp://host:port, smtp+starttls://…, smtps://user@host:465, or capture://DIR
    url: str = "capture://outbox"
    #: allow plain SMTP off loopback (warns)
    insecure: bool = False
    #: PEM file of the CA certificates to trust for the relay's TLS (relative to the config
    #: folder), e.g. a private CA or a self-signed server. Empty: the system's CAs
    ca_file: str = ""
    concurrency: int = 4
    batch_size: int = 10
    #: seconds a claimed letter stays leased to its sender before it counts as unknown
    lease_seconds: int = 60
    timeout: float = 30.0
    #: deferred letters are retried with backoff until they are this old (hours)
    max_retry_hours: float = 72.0
    #: seconds before the first retry of a deferred letter (doubled at each attempt)
    retry_seconds: float = 120.0
    #: error rate over the last `breaker_window` results that pauses the campaign
    breaker_threshold: float = 0.5
    breaker_window: int = 20


@dataclass(frozen=True)
class Imap:
    #: imaps://user@host:993/INBOX, imap://… (STARTTLS); empty: not configured
    url: str = ""
    insecure: bool = False
    #: PEM file of the CA certificates to trust for the mailbox's TLS (relative to the
    #: config folder). Empty: the system's CAs
    ca_file: str = ""
    #: what to do with processed mail: "flag" or "move:FOLDER"
    processed: str = "flag"
    #: append each sent letter to this folder (empty: do not)
    sent_folder: str = ""


@dataclass(frozen=True)
class Pacing:
    #: letters per minute, all domains together
    rate_per_minute: int = 30
    #: letters per hour to one recipient domain (all MEPs share europarl.europa.eu)
    per_domain_per_hour: int = 60
    #: sending window in the recipient's local time, e.g. "09:00-17:30"; empty: any time
    window: str = ""
    weekdays_only: bool = False


@dataclass(frozen=True)
class Dkim:
    #: path to a PEM private key (relative to the config folder); empty: no signing
    key_file: str = ""
    selector: str = ""
    domain: str = ""


@dataclass(frozen=True)
class Settings:
    general: General = field(default_factory=General)
    database: Database = field(default_factory=Database)
    sender: Sender = field(default_factory=Sender)
    smtp: Smtp = field(default_factory=Smtp)
    imap: Imap = field(default_factory=Imap)
    pacing: Pacing = field(default_factory=Pacing)
    dkim: Dkim = field(default_factory=Dkim)
    #: the folder of the config file (or the working directory): relative paths start here
    base_dir: Path = field(default_factory=Path.cwd)
    #: the config file read, if any
    path: Path | None = None

    @property
    def actor(self) -> str:
        """Who is acting: the configured campaigner, else the system user."""
        if self.general.campaigner:
            return self.general.campaigner
        try:
            return getpass.getuser()
        except Exception:  # no passwd entry (containers)
            return "unknown"

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute."""
        url = self.database.url
        if url.startswith("sqlite://"):
            target = url[len("sqlite://") :]
            if target != ":memory:" and not Path(target).is_absolute():
                return "sqlite://" + str((self.base_dir / target).resolve())
        return url

    def resolve(self, path: str) -> Path:
        """A path from the configuration, relative to the config folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def uses_placeholder_sender(self) -> bool:
        return self.sender.address.endswith("@" + PLACEHOLDER_DOMAIN)


SECTIONS: dict[str, type[Any]] = {
    "general": General,
    "database": Database,
    "sender": Sender,
    "smtp": Smtp,
    "imap": Imap,
    "pacing": Pacing,
    "dkim": Dkim,
}
SECRET_KEYS = {("smtp", "password"), ("imap", "password")}


def find_config(explicit: str | Path | None = None) -> Path | None:
    """The config file to read: explicit, else $OUTREACH_CONFIG, else ./outreach.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("OUTREACH_CONFIG")
    if env:
        return Path(env)
    candidate = Path.cwd() / CONFIG_NAME
    return candidate if candidate.exists() else None


def _coerce(section: str, key: str, value: Any, kind: Any, place: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}:
            return True
        if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "off", ""}:
            return False
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
    elif kind is str:
        if isinstance(value, str):
            return value
    raise ConfigError(
        f"[{section}] {key} must be {kind.__name__}, not {value!r}", place=place
    )


def load_settings(
    config: str | Path | None = None, *, environ: dict[str, str] | None = None
) -> Settings:
    """Read the configuration file (if any) and apply ``OUTREACH_*`` overrides."""
    env = os.environ if environ is None else environ
    path = find_config(config)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError("configuration file not found", place=str(path)) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", place=str(path)) from None
        except OSError as exc:
            raise ConfigError(exc.strerror or str(exc), place=str(path)) from None
    place = str(path) if path else "configuration"
    sections: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"[{name}] must be a table", place=place)
        hints = get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if (name, key) in SECRET_KEYS:
                raise ConfigError(
                    f"[{name}] {key}: passwords are never read from the file; "
                    f"set OUTREACH_{name.upper()}_PASSWORD instead",
                    place=place,
                )
            if key not in known:
                raise ConfigError(f"unknown key [{name}] {key}", place=place)
            values[key] = _coerce(name, key, value, hints[key], place)
        for key in known:
            env_name = f"OUTREACH_{name.upper()}_{key.upper()}"
            if env_name in env:
                values[key] = _coerce(name, key, env[env_name], hints[key], env_name)
        sections[name] = cls(**values)
    for key in data:
        if key not in SECTIONS:
            raise ConfigError(f"unknown section [{key}]", place=place)
    base = path.resolve().parent if path is not None else Path.cwd()
    settings = Settings(**sections, base_dir=base, path=path)
    _validate(settings, place)
    return settings


def _validate(settings: Settings, place: str) -> None:
    if settings.smtp.concurrency < 1:
        raise ConfigError("[smtp] concurrency must be at least 1", place=place)
    if settings.smtp.batch_size < 1:
        raise ConfigError("[smtp] batch_size must be at least 1", place=place)
    if settings.smtp.lease_seconds < 1:
        raise ConfigError("[smtp] lease_seconds must be at least 1", place=place)
    if settings.pacing.rate_per_minute < 1 or settings.pacing.per_domain_per_hour < 1:
        raise ConfigError("[pacing] rates must be at least 1", place=place)
    url = settings.database.url
    if not (url.startswith("sqlite://") or url.startswith(("postgres://", "postgresql://"))):
        raise ConfigError(
            f"[database] url must start with sqlite:// or postgres://, not {url!r}",
            place=place,
        )


def secret(name: str, environ: dict[str, str] | None = None) -> str | None:
    """A password from the environment (``smtp`` → ``OUTREACH_SMTP_PASSWORD``)."""
    env = os.environ if environ is None else environ
    return env.get(f"OUTREACH_{name.upper()}_PASSWORD")


CONFIG_TEMPLATE = '''\
# outreach configuration. Every key can be overridden by an environment
# variable OUTREACH_<SECTION>_<KEY>, e.g. OUTREACH_SMTP_URL or
# OUTREACH_DATABASE_URL. Passwords are never kept here: set
# OUTREACH_SMTP_PASSWORD and OUTREACH_IMAP_PASSWORD (or answer the prompt).

[general]
# Your name, recorded as the author of every change (default: your login name).
campaigner = {campaigner}
# Time zone for times shown to you (IANA name; empty: the system's).
timezone = ""

[database]
# A SQLite file beside this one, or postgres://user@host/dbname for a team.
url = {database_url}

[sender]
# Who the letters come from. The example.org placeholder lets you preview;
# set your real address before sending.
name = {sender_name}
address = {sender_address}
reply_to = ""
organisation = {organisation}
signature = {signature}
website = ""
# A List-Unsubscribe URL or mailto:. Empty means no such header, which is
# right for correspondence with officials (bulk markers silence
# out-of-office replies and hurt delivery).
list_unsubscribe = ""
# Add a per-letter token to Reply-To and the envelope sender
# (replies+TOKEN@your.domain) so every reply finds its letter.
plus_addressing = false

[smtp]
# capture://DIR keeps every letter in a local Maildir (a dress rehearsal).
# smtp://host:587 (STARTTLS when offered), smtp+starttls://host:587,
# smtps://user@host:465. Password: OUTREACH_SMTP_PASSWORD.
url = {smtp_url}
insecure = false
# A PEM file of CA certificates to trust instead of the system's (a private CA
# or a self-signed relay); relative to this file's folder.
ca_file = ""
concurrency = 4
batch_size = 10
lease_seconds = 60
timeout = 30.0
max_retry_hours = 72.0
# First retry of a deferred letter after this many seconds (doubled each time).
retry_seconds = 120.0
breaker_threshold = 0.5
breaker_window = 20

[imap]
# imaps://user@host:993/INBOX for replies. Password: OUTREACH_IMAP_PASSWORD.
url = {imap_url}
insecure = false
ca_file = ""
processed = "flag"
sent_folder = ""

[pacing]
rate_per_minute = 30
per_domain_per_hour = 60
# Sending window in each recipient's local time, e.g. "09:00-17:30".
window = ""
weekdays_only = false

[dkim]
key_file = ""
selector = ""
domain = ""
'''


def toml_string(value: str) -> str:
    """A TOML basic string (multi-line values become escaped newlines)."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    out = "".join(c if c >= " " or c == "\t" else f"\\u{ord(c):04x}" for c in out)
    return f'"{out}"'


def render_config(**values: str) -> str:
    """The commented config file with the given values (TOML-quoted here)."""
    defaults = {
        "campaigner": "",
        "database_url": Database.url,
        "sender_name": Sender.name,
        "sender_address": Sender.address,
        "organisation": Sender.organisation,
        "signature": Sender.signature,
        "smtp_url": Smtp.url,
        "imap_url": "",
    }
    defaults.update(values)
    return CONFIG_TEMPLATE.format(**{k: toml_string(v) for k, v in defaults.items()})
