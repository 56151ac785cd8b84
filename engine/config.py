"""ess.toml: validated with pydantic at the edge, errors that name the key and its line.

The engine validates the shape it owns (journal, tenants, tiers, schedules, policy); each
source and target validates its own table with its ``config_model`` (see :func:`check`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from engine.civic_hash import CivicHash, KeyedCivicHash, KeyOnFirstUse, drop
from engine.display import scrub_personnummer
from engine.first_sign_in import HandOverConfig, Mode
from engine.notify.channels import Channel
from engine.secrets import SecretError, SecretResolver, check_reference

DEFAULT_CONFIG = "ess.toml"
CONFIG_ENV = "ESS_CONFIG"
TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KindThreshold(_Frozen):
    """Hold the plan when more than ``share`` of a type, or more than ``count``, would go."""

    share: float = Field(0.05, ge=0, le=1)
    count: int | None = Field(500, ge=0)


class GrowthThreshold(_Frozen):
    """Hold the plan when a type would grow, or be updated, by more than ``share`` of what the
    target holds AND by more than ``count``: both, so that neither a small school's intake nor
    a large municipality's ordinary day is held, while a source that suddenly sends a hundred
    times its pupils is. ``share`` may pass 1 (2.0: the type would triple)."""

    share: float = Field(0.75, ge=0)
    count: int = Field(500, ge=0)


class GuardPolicy(_Frozen):
    """Thresholds for deletions and suspensions per object type, for erosion over runs, and
    for growth and updates per object type.

    Object types default to 5% or 500. Links (memberships) change a lot on an ordinary day, so
    they default to a share only (25%): a truncated source still trips it.

    Growth is judged on object types only and net of the same type's removals, so that a year
    rollover (last year's classes archived, this year's created) is no growth; a first sync
    into an empty target has no base and is never held for growth.
    """

    objects: KindThreshold = KindThreshold()
    links: KindThreshold = KindThreshold(share=0.25, count=None)
    per_type: dict[str, KindThreshold] = Field(default_factory=dict)
    erosion_share: float = Field(0.10, ge=0, le=1)
    erosion_runs: int = Field(5, ge=1, le=100)
    min_base: int = Field(20, ge=0)  # below this many objects of a type, shares are not judged
    growth: GrowthThreshold = GrowthThreshold()
    growth_per_type: dict[str, GrowthThreshold] = Field(default_factory=dict)


class TenantPolicy(_Frozen):
    """How a tenant wants its data treated; targets read it when they build desired state."""

    protected_identity: Literal["exclude", "mask", "include"] = "exclude"
    group_types: tuple[str, ...] = ("Klass", "Undervisning")
    suspend_grace_days: int = Field(30, ge=0, le=3650)
    class_end: Literal["archive", "keep", "delete"] = "archive"
    drift: Literal["repair", "report"] = "repair"
    guard: GuardPolicy = GuardPolicy()
    max_attempts: int = Field(6, ge=1, le=50)  # per item, before it becomes a failed item
    retry_base_s: float = Field(0.5, gt=0, le=60)  # first backoff; doubles each attempt
    retry_max_s: float = Field(60.0, gt=0, le=3600)  # backoff cap (Retry-After may be longer)


SOURCE_KEYS = ("schools", "on_error")
"""Keys of a ``[tenants.NAME.sources.KEY]`` table that the engine reads (which schools the
source owns, what a failed read does); the rest of the table is the adapter's."""

PersonKey = Literal["civic_no", "eppn", "email"]
SchoolKey = Literal["school_unit_code"]
GroupKey = Literal["code"]


class MatchKeys(_Frozen):
    """How a record of one source is known to be a record of another: a person by the keyed
    hash of the personnummer, eduPersonPrincipalName or e-mail address; a school by its
    skolenhetskod; a group by its code (its school's skolenhetskod, type, name and school
    year). Used by ``ess source rekey`` and by the merge of several sources."""

    persons: tuple[PersonKey, ...] = ("civic_no", "eppn", "email")
    schools: tuple[SchoolKey, ...] = ("school_unit_code",)
    groups: tuple[GroupKey, ...] = ("code",)


class SourceEntry(_Frozen):
    """The engine's keys of one of several sources (the rest of its table is the adapter's).

    ``schools``: the school units it owns, by skolenhetskod or source id (empty: every school
    it lists that no source before it owns). ``on_error``: what a failed read does to the
    run: ``hold`` (default) goes on with the other sources and holds the removal of what the
    failed source owns, since its records cannot be told from records that left; ``stop``
    fails the run."""

    model_config = ConfigDict(frozen=True, extra="allow")
    type: str
    schools: tuple[str, ...] = ()
    on_error: Literal["hold", "stop"] = "hold"


class RekeyConfig(_Frozen):
    """``[tenants.NAME.rekey]``: the source the tenant moves from (``from``, a source table
    as ``[tenants.NAME.source]`` was) and the keys that match its records to the new one's."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    previous: dict[str, Any] = Field(alias="from")
    match: MatchKeys = MatchKeys()

    @field_validator("previous")
    @classmethod
    def _typed(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "type" not in value:
            raise ValueError("the source table needs a 'type' (for example type = \"ims\")")
        return value


class TenantConfig(_Frozen):
    """One customer setup: one source (or several), one or more targets and a policy."""

    name: str | None = None
    tier: Literal["bronze", "silver", "gold"] = "bronze"
    schedule: str | None = None
    timezone: str = "Europe/Stockholm"
    source: dict[str, Any] | None = None
    # several sources, in precedence order: ``[tenants.NAME.sources.KEY]`` tables
    sources: dict[str, SourceEntry] = Field(default_factory=dict)
    match: MatchKeys = MatchKeys()  # how the sources' persons are matched to each other
    rekey: RekeyConfig | None = None
    targets: dict[str, dict[str, Any]] = Field(default_factory=dict)
    policy: TenantPolicy = TenantPolicy()
    notify: tuple[Channel, ...] = ()  # where held plans and failed runs are reported
    # what password a new account gets (engine.first_sign_in); "passwords" needs hand_over
    first_sign_in: Mode = "discard"
    hand_over: HandOverConfig | None = None

    @model_validator(mode="after")
    def _hand_over_needed(self) -> TenantConfig:
        if self.first_sign_in == "passwords" and self.hand_over is None:
            raise ValueError(
                'first_sign_in = "passwords" needs a [hand_over] table (staff, public_key, '
                "folder): the passwords must go to someone"
            )
        return self

    @field_validator("notify")
    @classmethod
    def _channel_names(cls, value: tuple[Channel, ...]) -> tuple[Channel, ...]:
        names = [c.name for c in value]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"channel names must differ; repeated: {', '.join(dupes)}")
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression (five fields: m h dom mon dow)")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("source")
    @classmethod
    def _source_type(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and "type" not in value:
            raise ValueError("the source table needs a 'type' (for example type = \"ss12000\")")
        return value

    @field_validator("sources")
    @classmethod
    def _source_keys(cls, value: dict[str, SourceEntry]) -> dict[str, SourceEntry]:
        for key in value:
            if not TENANT_ID.match(key):
                raise ValueError(
                    f"source key {key!r} must be lower-case letters, digits, '-' or '_'"
                )
        return value

    @model_validator(mode="after")
    def _one_source_form(self) -> TenantConfig:
        if self.source is None and not self.sources:
            raise ValueError(
                "a tenant needs a source: a [tenants.NAME.source] table, or several "
                "[tenants.NAME.sources.KEY] tables"
            )
        if self.source is not None and self.sources:
            raise ValueError(
                "give either [tenants.NAME.source] or [tenants.NAME.sources.KEY] tables, not both"
            )
        return self

    def source_tables(self) -> dict[str, dict[str, Any]]:
        """Each source's adapter table by its key, in precedence order; the single
        ``[tenants.NAME.source]`` form is the one source with the key ``""``."""
        if self.source is not None:
            return {"": dict(self.source)}
        return {
            key: {k: v for k, v in e.model_dump().items() if k not in SOURCE_KEYS}
            for key, e in self.sources.items()
        }

    def source_entry(self, key: str) -> SourceEntry:
        """The engine's keys of one source (defaults for the single form)."""
        if key in self.sources:
            return self.sources[key]
        return SourceEntry(type=str((self.source or {}).get("type", "")))

    def source_type(self) -> str:
        """The source type(s), for a summary line: ``ims`` or ``ss12000+ims``."""
        return "+".join(str(t.get("type", "")) for t in self.source_tables().values())

    def target_type(self, name: str) -> str:
        return str(self.targets[name].get("type", name))


class JournalConfig(_Frozen):
    path: Path = Path("ess.db")  # the SQLite journal (on-site), unless url is set
    # hosted: the PostgreSQL database, postgresql://user@host:port/dbname (docs/hosted.md)
    url: str | None = None
    password: str | None = None  # a secret reference to the database user's password

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("the journal url must be a PostgreSQL URL: postgresql://user@host/db")
        rest = value.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
        userinfo = rest.rpartition("@")[0]
        if ":" in userinfo or "password=" in value:
            raise ValueError(
                "the journal url holds a password; give it as a secret reference instead "
                '(password = "env:NAME" or "file:PATH")'
            )
        return value

    @field_validator("password")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        if value is not None and (problem := check_reference(value)):
            raise ValueError(problem)
        return value


TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LEGACY_TOKEN_NAME = "default"
"""The name ``[mcp] token`` (the single token of earlier releases) is read under."""


class McpToken(_Frozen):
    """``[mcp.tokens.NAME]``: one person's or one script's bearer token for ``ess mcp --http``.

    The name is the audit actor of every call made with it (``mcp:NAME``); removing the table
    or setting ``revoked = true`` refuses the token at its next request."""

    token: str  # a secret reference (env:NAME / file:PATH), never the token itself
    revoked: bool = False
    # the tenants the token's holder serves (hosted mode); absent: every tenant
    tenants: list[str] | None = None

    @field_validator("token")
    @classmethod
    def _ref(cls, value: str) -> str:
        if problem := check_reference(value):
            raise ValueError(problem)
        return value


class McpConfig(_Frozen):
    token: str | None = None
    """Deprecated (one release): the single bearer token of earlier releases, read as the
    token named ``default``. Use ``[mcp.tokens.NAME]``."""
    tokens: dict[str, McpToken] = Field(default_factory=dict)

    @field_validator("token")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        if value is not None and (problem := check_reference(value)):
            raise ValueError(problem)
        return value

    @field_validator("tokens")
    @classmethod
    def _names(cls, value: dict[str, McpToken]) -> dict[str, McpToken]:
        for name in value:
            if not TOKEN_NAME.match(name):
                raise ValueError(
                    f"token name {name!r}: use letters, digits, '.', '_' or '-' (at most 64), "
                    "starting with a letter or digit; it is the audit actor of the token's calls"
                )
        return value

    @model_validator(mode="after")
    def _one_default(self) -> McpConfig:
        if self.token is not None and LEGACY_TOKEN_NAME in self.tokens:
            raise ValueError(
                f"[mcp] token is read as the token named {LEGACY_TOKEN_NAME!r}, and "
                f"[mcp.tokens.{LEGACY_TOKEN_NAME}] exists too: keep one"
            )
        return self

    def active_tokens(self) -> dict[str, str]:
        """Name -> secret reference of every token not revoked, ``[mcp] token`` as
        ``default``."""
        out = {name: t.token for name, t in self.tokens.items() if not t.revoked}
        if self.token is not None:
            out[LEGACY_TOKEN_NAME] = self.token
        return out

    @property
    def deprecations(self) -> list[str]:
        if self.token is None:
            return []
        return [
            "[mcp] token is deprecated and goes in the next release; it is read as the token "
            f'named {LEGACY_TOKEN_NAME!r}: write [mcp.tokens.{LEGACY_TOKEN_NAME}] token = "…" '
            "(one named token per person or script)"
        ]


class MetricsConfig(_Frozen):
    """``/metrics`` and ``/healthz`` of the scheduler (docs/operations.md, Monitoring)."""

    port: int | None = Field(None, ge=1, le=65535)  # None: not served
    # the same for `ess mcp --http` (a port of its own: it may run beside the scheduler)
    mcp_port: int | None = Field(None, ge=1, le=65535)
    # the same for `ess worker` (hosted mode; `ess worker --metrics-port` overrides it, one
    # port per worker process on a machine)
    worker_port: int | None = Field(None, ge=1, le=65535)
    host: str = "127.0.0.1"
    missed_run_margin_s: float = Field(900.0, gt=0, le=86400)


class PrivacyConfig(_Frozen):
    # a secret reference to the key of the personnummer hash (see engine.civic_hash); without
    # one no personnummer is kept at all
    civic_key: str | None = None
    # retention: the run log's events and the attempts of runs older than this are removed
    history_days: int = Field(396, ge=30, le=3650)
    # audit rows older than this become tombstones (content gone, the hash chain kept)
    audit_days: int = Field(1826, ge=365, le=36500)
    # how often the scheduler sends the audit log's head to the tenants' channels
    audit_head_hours: int = Field(24, ge=1, le=720)

    @field_validator("civic_key")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        if value is not None and (problem := check_reference(value)):
            raise ValueError(problem)
        return value


class ConsoleConfig(_Frozen):
    read_only: bool = False
    refresh_seconds: float = Field(5.0, gt=0, le=3600)


class OperatorConfig(_Frozen):
    """``[operators.ACCOUNT]``: what the engineer signed in as OS account ACCOUNT may see and do
    from the CLI, the console and ``ess mcp`` over stdio (hosted mode: one engineer, some
    customers). An account without a table serves every tenant."""

    tenants: list[str] | None = None


class WorkersConfig(_Frozen):
    """``[workers]``: hosted runs (``ess worker``, docs/hosted.md)."""

    # a worker's run holds the tenant's lease this long, renewed every third of it while the
    # run lives: a run whose worker died on another machine is taken over once it expires
    lease_s: float = Field(30.0, ge=2, le=3600)


class EssConfig(_Frozen):
    journal: JournalConfig = JournalConfig()
    console: ConsoleConfig = ConsoleConfig()
    mcp: McpConfig = McpConfig()
    metrics: MetricsConfig = MetricsConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    operators: dict[str, OperatorConfig] = Field(default_factory=dict)
    workers: WorkersConfig = WorkersConfig()
    tenants: dict[str, TenantConfig] = Field(default_factory=dict)

    @field_validator("tenants", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        for tid in value if isinstance(value, dict) else ():
            if not TENANT_ID.match(tid):
                raise ValueError(
                    f"tenant id {tid!r} must be lower-case letters, digits, '-' or '_'"
                )
        return value


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in ess.toml: the dotted key, its line (when found) and what is wrong."""

    key: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        return f"{where}{self.key}: {self.message}"


class ConfigError(Exception):
    """ess.toml cannot be used; ``problems`` lists every bad key with its line."""

    def __init__(self, path: Path, problems: list[ConfigProblem]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s) in the configuration\n{lines}")


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration with where it came from, for relative paths and secrets."""

    path: Path
    config: EssConfig
    raw: Mapping[str, Any]

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def journal_path(self) -> Path:
        p = self.config.journal.path
        return p if p.is_absolute() else self.base_dir / p

    def secrets(self) -> SecretResolver:
        return SecretResolver(base_dir=self.base_dir)

    def civic_hash(self, *, on_first_use: bool = False) -> CivicHash:
        """The installation's personnummer hash: keyed by ``[privacy] civic_key``, or keeping
        nothing without one. Raises :class:`SecretError` when the key does not resolve (at
        once, or ``on_first_use``)."""
        ref = self.config.privacy.civic_key
        if ref is None:
            return drop
        resolver = self.secrets()

        def keyed() -> KeyedCivicHash:
            key = resolver.resolve(ref)
            if len(key.reveal()) < 16:
                raise SecretError(f"the key {ref!r} ([privacy] civic_key) is under 16 characters")
            return KeyedCivicHash(key)

        return KeyOnFirstUse(keyed) if on_first_use else keyed()

    def tenant(self, tenant_id: str) -> TenantConfig:
        try:
            return self.config.tenants[tenant_id]
        except KeyError:
            known = ", ".join(sorted(self.config.tenants)) or "none"
            raise KeyError(f"no tenant {tenant_id!r} in {self.path} (tenants: {known})") from None


def default_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else Path(DEFAULT_CONFIG)


def find_line(text: str, dotted: tuple[str | int, ...]) -> int | None:
    """Best-effort line of a dotted key in TOML text: the key inside its table, else the table."""
    keys = [str(k) for k in dotted]
    table_re = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    key_re = re.compile(r'^\s*("?)([A-Za-z0-9_.\-"]+)\1\s*=')
    current: list[str] = []
    best: int | None = None
    best_len = -1
    for number, line in enumerate(text.splitlines(), start=1):
        m = table_re.match(line)
        if m:
            current = [p.strip().strip('"') for p in m.group(1).split(".")]
            n = _common(current, keys)
            if n == len(current) and n > best_len:
                best, best_len = number, n
            continue
        k = key_re.match(line)
        if k:
            full = current + [p.strip('"') for p in k.group(2).split(".")]
            n = _common(full, keys)
            if n == len(full) and n > best_len:
                best, best_len = number, n
    return best


def _common(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def load(path: str | Path | None = None) -> LoadedConfig:
    """Read and validate ess.toml; raise :class:`ConfigError` naming every bad key."""
    p = default_path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            p, [ConfigProblem("(file)", None, "not found; create one with `ess init`")]
        ) from None
    except OSError as exc:
        raise ConfigError(p, [ConfigProblem("(file)", None, exc.strerror or str(exc))]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(p, [ConfigProblem("(file)", None, not_text(exc))]) from None
    raw = parse_toml(p, text)
    try:
        cfg = EssConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(p, _problems(exc, text)) from None
    if problems := scope_problems(cfg, text):
        raise ConfigError(p, problems)
    return LoadedConfig(path=p, config=cfg, raw=raw)


def scope_problems(cfg: EssConfig, text: str) -> list[ConfigProblem]:
    """A tenant list (``[operators.X]``, ``[mcp.tokens.X]``) naming a tenant that is not
    configured: a typo or a tenant that left; either way the engineer would not get what the
    list says."""
    lists: dict[tuple[str, ...], list[str] | None] = {
        ("operators", n, "tenants"): o.tenants for n, o in cfg.operators.items()
    }
    lists |= {("mcp", "tokens", n, "tenants"): t.tenants for n, t in cfg.mcp.tokens.items()}
    out = []
    for key, listed in lists.items():
        unknown = sorted(set(listed or ()) - set(cfg.tenants))
        if unknown:
            message = (
                f"names {', '.join(map(repr, unknown))}, which is not a configured tenant; "
                f"configured: {', '.join(cfg.tenants) or 'none'}"
            )
            out.append(ConfigProblem(".".join(key), find_line(text, key), message))
    return out


def not_text(exc: UnicodeDecodeError) -> str:
    """What to say about a file that is not UTF-8 text (a binary file, another encoding)."""
    return (
        f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
        "ess.toml must be a UTF-8 text file"
    )


def parse_toml(path: Path, text: str) -> dict[str, Any]:
    """The TOML document, or :class:`ConfigError` for bad syntax or nesting too deep to read."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            path, [ConfigProblem("(syntax)", int(m.group(1)) if m else None, str(exc))]
        ) from None
    except RecursionError:
        raise ConfigError(
            path, [ConfigProblem("(syntax)", None, "arrays or tables nested too deeply to read")]
        ) from None


def validation_message(exc: ValidationError, prefix: str = "") -> str:
    """A pydantic error as ``key: message`` parts, never the values given: a value may be a
    secret (or a personnummer), and ``str(exc)`` would print it (``input_value=...``). Every
    pydantic error ESS shows is written by this function or :func:`_problems`."""
    parts = [f"{key}: {msg}" if key else msg for key, msg in _errors(exc, (prefix,))]
    return "; ".join(parts) or "invalid"


def _errors(exc: ValidationError, prefix: tuple[str | int, ...]) -> list[tuple[str, str]]:
    """(dotted key, message) per problem: no input values, personnummer scrubbed (a custom
    validator may quote the value it refused)."""
    out = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = tuple(x for x in (*prefix, *err["loc"]) if x != "")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; docs/configuration.md lists every key)"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append((".".join(str(x) for x in loc), scrub_personnummer(msg)))
    return out


def _problems(
    exc: ValidationError, text: str, prefix: tuple[str | int, ...] = ()
) -> list[ConfigProblem]:
    out = []
    for err, (key, msg) in zip(exc.errors(), _errors(exc, prefix), strict=True):
        out.append(ConfigProblem(key, find_line(text, prefix + tuple(err["loc"])), msg))
    return out


def adapter_problems(
    text: str, loc: tuple[str | int, ...], model: type[BaseModel], settings: Mapping[str, Any]
) -> list[ConfigProblem]:
    """Validate one adapter table with the adapter's pydantic model."""
    try:
        model.model_validate(dict(settings))
    except ValidationError as exc:
        return _problems(exc, text, loc)
    return []
