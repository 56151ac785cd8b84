"""The target contract: desired state, observed state, and applying operations in batches.

A target describes the object kinds and link kinds it manages (:class:`KindSpec`,
:class:`LinkSpec`); the planner diffs generically over them, so a new target writes no planner
code. :class:`TargetBase` declares every hook a target may offer, with its default. The
executor owns concurrency per lane, every retry of a write, the in-flight marks, what happens
to a write in doubt, and honours a service's Retry-After for every sender; the target owns its
wire format, how it groups operations into requests, pacing them at the service's limit (its
client knows what each request costs), how it classifies answers (saying when a write is in
doubt), and how it reads an operation back (:meth:`TargetBase.read_back`).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import orjson

from engine.config import TenantPolicy
from engine.findings import Finding
from engine.first_sign_in import Initial, InitialPasswords
from engine.links import LinkSet
from engine.model import Snapshot, fingerprint
from engine.plan import Operation
from engine.secrets import SecretResolver

Attrs = tuple[tuple[str, Any], ...]
"""A frozen attribute map: sorted (name, JSON-able value) pairs."""


def attrs_of(mapping: Mapping[str, Any]) -> Attrs:
    """Freeze a dict of JSON-able values (lists become tuples) into sorted pairs."""
    return tuple(sorted((k, _freeze(v)) for k, v in mapping.items()))


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _freeze(value: Any) -> Any:
    if type(value) in _SCALARS:  # the common case, decided without isinstance chains
        return value
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Mapping):
        return attrs_of(value)
    return value


def attrs_fingerprint(attrs: Attrs) -> str:
    """A 32-hex-digit hash (blake2b-128) of the map's JSON as orjson writes it.

    That is the JSON the journal stores as the mirror's attributes: it depends on neither
    Python's ``repr`` nor its version, and attributes read back from the journal hash as they
    did when written. Values JSON cannot tell apart hash alike (a tuple and a list, a date and
    its ISO string). Journals hold these: a change needs a migration (engine.journal.schema).
    """
    return hashlib.blake2b(orjson.dumps(attrs), digest_size=16).hexdigest()


DRIFTED = "drifted"
"""The fingerprint a refresh gives a mirror row whose object was changed by hand: it matches
no attributes, so the planner plans the repair (an update back to the desired state)."""

FINGERPRINT_LENGTH, LEGACY_LENGTH = 32, 16
"""Hex digits of a current and of a legacy fingerprint: the length tells them apart."""


def legacy_attrs_fingerprint(attrs: Attrs) -> str:
    """The fingerprint journals before schema 2 hold: 16 hex digits of the map's ``repr``.

    Kept to recognise what an old journal still holds (skips, planned operations, mirror rows
    whose stored attributes could not vouch for their fingerprint), never to make new ones.
    """
    return fingerprint(repr(attrs))


def is_legacy_of(stored: str, attrs: Attrs) -> bool:
    """True when ``stored`` is the legacy fingerprint of ``attrs``: then it stands for the
    same attributes as their current fingerprint does."""
    return len(stored) == LEGACY_LENGTH and stored == legacy_attrs_fingerprint(attrs)


def upgraded_fingerprint(stored: str, attrs: Attrs) -> str:
    """The current fingerprint of ``attrs`` when ``stored`` is their legacy one, else ``stored``
    unchanged (the sentinel :data:`DRIFTED`, or one the attributes cannot vouch for)."""
    return attrs_fingerprint(attrs) if is_legacy_of(stored, attrs) else stored


def attrs_from_json(text: str | bytes | None) -> Attrs:
    """An attribute map as the journal stores it (orjson's JSON; ``NULL`` for no attributes),
    frozen again: arrays become tuples, so nested maps are sorted pairs once more."""
    return _thaw(orjson.loads(text)) if text else ()


def _thaw(value: Any) -> Any:
    # a list comprehension, and no call for a scalar: the mirror loads every row through this
    if type(value) is list:
        return tuple([_thaw(v) if type(v) is list else v for v in value])
    return value


def attrs_dict(attrs: Attrs) -> dict[str, Any]:
    return dict(attrs)


class Need(NamedTuple):
    """An object of ``kind`` that must exist before this one is made or changed: the one whose
    key (or, with ``by``, whose attribute ``by``) equals the value of this object's desired
    attribute ``attribute``, or each of its values when that is a tuple or list."""

    attribute: str
    kind: str
    by: str = ""  # the needed object's attribute that holds the value; "" for its key


@dataclass(frozen=True, slots=True)
class KindSpec:
    """An object kind a target manages, in creation order (``rank``).

    ``retire`` says what happens when the source no longer has the record: ``delete`` it,
    ``suspend`` it and delete after ``grace_days``, ``archive`` it, or ``keep`` it.

    ``needs`` names objects of other kinds, by a different key, that must exist before this
    one can be made or changed (see :class:`Need`; the needed kind has a lower ``rank``).
    When the plan creates (or restores, a suspended account) such an object, the operation
    waits for that, and is blocked, not refused, when it fails; when the object exists and is
    enabled already, the plan has no edge.
    """

    name: str
    rank: int
    retire: Literal["delete", "suspend", "archive", "keep"] = "delete"
    grace_days: int = 0
    depends_on: tuple[str, ...] = ()  # kinds whose object with the same key must exist first
    needs: tuple[Need, ...] = ()


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """A relation between two managed objects (a member of a class, a user at a school)."""

    name: str
    parent_kind: str
    child_kind: str
    rank: int = 0


@dataclass(frozen=True, slots=True)
class DesiredObject:
    """What one object should look like in the target."""

    kind: str
    key: str
    attrs: Attrs
    label: str = ""  # human label for logs and screens, already masked per policy
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", attrs_fingerprint(self.attrs))


# DesiredObject's slots, set straight through their descriptors by desired_object
_kind, _key, _attrs, _label, _fingerprint = (
    DesiredObject.__dict__[name].__set__ for name in DesiredObject.__slots__
)
_new_object = object.__new__


def desired_object(
    kind: str, key: str, attrs: Attrs, label: str, fingerprint: str = ""
) -> DesiredObject:
    """``DesiredObject(...)`` made twice as quickly, for a mapping that makes hundreds of
    thousands: a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``; this sets the slots straight through their descriptors."""
    o = _new_object(DesiredObject)
    _kind(o, kind)
    _key(o, key)
    _attrs(o, attrs)
    _label(o, label)
    _fingerprint(o, fingerprint or attrs_fingerprint(attrs))
    return o


def _link_sets(links: Mapping[str, Iterable[tuple[str, str]]]) -> Mapping[str, LinkSet]:
    """Links as :class:`LinkSet`; a target may hand over plain sets of pairs."""
    if all(type(v) is LinkSet for v in links.values()):
        return links  # type: ignore[return-value]
    return {k: v if type(v) is LinkSet else LinkSet(v) for k, v in links.items()}


@dataclass(frozen=True, repr=False)
class DesiredState:
    """The target's whole desired state for one snapshot (its repr gives counts only)."""

    objects: Mapping[str, Mapping[str, DesiredObject]]  # kind -> key -> object
    links: Mapping[str, LinkSet]  # link kind -> its (parent key, child key) pairs
    findings: tuple[Finding, ...] = ()
    waiting: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """kind -> keys of objects the target wants but cannot make yet (a Class Team before its
    class has a teacher to own it): nothing is planned for them, neither a create that could
    only fail nor a removal of one that exists; the finding that says why is in ``findings``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "links", _link_sets(self.links))

    def __repr__(self) -> str:
        return f"DesiredState({self.count()})"

    def count(self) -> dict[str, int]:
        out = {k: len(v) for k, v in self.objects.items()}
        out.update({k: len(v) for k, v in self.links.items()})
        return out


@dataclass(frozen=True, slots=True)
class MirrorObject:
    """What ESS last knew of one managed object in the target (its mirror row)."""

    kind: str
    key: str
    target_id: str | None
    fingerprint: str
    attrs: Attrs = ()
    suspended_at: datetime | None = None
    archived: bool = False
    label: str = ""


@dataclass(frozen=True, repr=False)
class ObservedState:
    """The target as ESS believes it is: the journal's mirror, refreshed from the target."""

    objects: Mapping[str, Mapping[str, MirrorObject]]
    links: Mapping[str, LinkSet]

    def __post_init__(self) -> None:
        object.__setattr__(self, "links", _link_sets(self.links))

    def __repr__(self) -> str:
        return f"ObservedState({self.count()})"

    def count(self) -> dict[str, int]:
        out = {k: len(v) for k, v in self.objects.items()}
        out.update({k: len(v) for k, v in self.links.items()})
        return out


EMPTY_OBSERVED = ObservedState({}, {})


class OutcomeKind(StrEnum):
    """How the target answered one operation."""

    DONE = "done"  # applied (or read back and found already applied: ``adopted``)
    RETRY = "retry"  # transient: throttled, 5xx, timeout, not yet visible; safe to send again
    IN_DOUBT = "in_doubt"  # a write that is not safe to send again (a create) got no proof:
    # a 5xx or a timeout; it may have taken effect. The executor reads it back first.
    FAILED = "failed"  # the data is wrong for this target: a finding, no retry until fixed
    FATAL = "fatal"  # tenant-level: auth, consent, permission; stops the run with one message


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one operation; ``message`` holds no secret and no personnummer."""

    kind: OutcomeKind
    target_id: str | None = None
    reason: str = ""  # a short code: throttled, server_error, timeout, not_visible, conflict...
    message: str = ""
    retry_after: float | None = None  # seconds, from the service's Retry-After
    adopted: bool = False
    finding: Finding | None = None

    @classmethod
    def done(cls, target_id: str | None = None, *, adopted: bool = False) -> Outcome:
        return cls(OutcomeKind.DONE, target_id=target_id, adopted=adopted)

    @classmethod
    def retry(cls, reason: str, message: str = "", retry_after: float | None = None) -> Outcome:
        return cls(OutcomeKind.RETRY, reason=reason, message=message, retry_after=retry_after)

    @classmethod
    def in_doubt(cls, reason: str, message: str = "") -> Outcome:
        """The write may have taken effect: never send it again before reading it back."""
        return cls(OutcomeKind.IN_DOUBT, reason=reason, message=message)

    @classmethod
    def failed(cls, reason: str, message: str, finding: Finding | None = None) -> Outcome:
        return cls(OutcomeKind.FAILED, reason=reason, message=message, finding=finding)

    @classmethod
    def fatal(cls, reason: str, message: str) -> Outcome:
        return cls(OutcomeKind.FATAL, reason=reason, message=message)


@dataclass(frozen=True)
class Batch:
    """Operations the target will send together, and how many throttled writes that costs."""

    operations: tuple[Operation, ...]
    cost: int = 1


@dataclass(frozen=True, slots=True)
class BatchUnit:
    """Which operations one request of the service may carry together (``group``: one kind
    and action, the members of one group...) and how many of them at most (``size``: SCIM's
    Bulk ``maxOperations``, Graph's ``$batch`` of 20, Google's batch of 50 or 1,000).

    The executor hands a target its ready work in windows; of every group that goes on past
    a window it holds back the window's last request when that one carries fewer than
    ``size``, so that only the last request of a group in a level is part-full, and not the
    last one of every window. A target that also packs by bytes (SCIM's ``maxPayloadSize``)
    gives ``size`` as the most by count."""

    group: str
    size: int


ALONE = BatchUnit("", 1)
"""Each operation is a request of its own: nothing to fill, nothing held back."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A service's published write limit, and how much work may be in flight.

    ``writes`` per ``per_seconds`` is what the target's client paces at (the kit's pacer,
    adapters/kit/pacing.py); the executor does not count writes. ``max_concurrency`` bounds
    the batches in flight in the default lane. ``lanes`` names work
    a target paces on its own (Class Teams: a separate limit and minutes of polling), each with
    its own bound, so that slow work there never holds up the default lane's writes; a target
    says which lane an operation goes in through ``lane(op)``.
    """

    writes: int  # write requests allowed ...
    per_seconds: float  # ... in this window
    max_concurrency: int = 4
    lanes: tuple[tuple[str, int], ...] = ()  # (lane, batches in flight at most)


class CheckStatus(StrEnum):
    """What one item of a target check found."""

    OK = "ok"
    MISSING = "missing"  # something the configuration needs is not there: ``fix`` says what
    SKIPPED = "skipped"  # not checked (the target has no such check, or it could not be read)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One item of ``ess target check``: what was checked, what was found and, when something
    is missing, the one line that names the fix. Holds no secret."""

    item: str  # "sign-in", "permission User.ReadWrite.All", "domain", "licence SKU ..."
    status: CheckStatus
    detail: str = ""
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not CheckStatus.MISSING


@dataclass(frozen=True, slots=True)
class CredentialExpiry:
    """A credential of a target that runs out: what it is (never its value) and when."""

    what: str  # "client secret 'ESS sync' of app 0d5c…", "certificate CN=… (certificate_path)"
    expires_at: datetime
    fix: str = ""  # what to do before then


def credential_results(
    expiries: Iterable[CredentialExpiry], now: datetime | None = None
) -> list[CheckResult]:
    """``ess target check``'s line per credential: missing once it has run out, else ok with
    the date and the days left."""
    now = now or datetime.now(UTC)
    out = []
    for e in sorted(expiries, key=lambda e: e.expires_at):
        days = (e.expires_at - now).days
        when = f"{e.expires_at:%Y-%m-%d}"
        if e.expires_at <= now:
            out.append(CheckResult(e.what, CheckStatus.MISSING, f"expired {when}", e.fix))
        else:
            out.append(CheckResult(e.what, CheckStatus.OK, f"expires {when} (in {days} days)"))
    return out


def _no_ids(kind: str, key: str) -> str | None:
    return None


@dataclass(frozen=True)
class TargetContext:
    """What the engine lends a target during a run.

    ``target_ids(kind, key)`` answers from the identity map (source id -> target id): the
    mirror's ids plus those of objects created earlier in the same run, which the executor
    teaches it through :meth:`learn`.
    """

    tenant: str
    run_id: int
    target_ids: Callable[[str, str], str | None] = _no_ids
    emit: Callable[[str, str], None] = lambda level, message: None
    ids: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # what a create's password is, per the tenant's first_sign_in (engine.first_sign_in)
    passwords: InitialPasswords = field(default_factory=InitialPasswords)

    def learn(self, kind: str, key: str, target_id: str | None) -> None:
        if target_id:
            self.ids[(kind, key)] = target_id

    @classmethod
    def with_ids(
        cls,
        tenant: str,
        run_id: int,
        ids: dict[tuple[str, str], str | None],
        emit: Callable[[str, str], None] = lambda level, message: None,
        passwords: InitialPasswords | None = None,
    ) -> TargetContext:
        def lookup(kind: str, key: str) -> str | None:
            return ids.get((kind, key))

        return cls(
            tenant=tenant,
            run_id=run_id,
            target_ids=lookup,
            emit=emit,
            ids=ids,
            passwords=passwords or InitialPasswords(),
        )


class TargetBase(ABC):
    """An adapter that keeps one external service in step with the snapshot.

    Every hook and capability a target may offer is declared here with its default, so the
    engine asks and never probes: a new target subclasses this, sets ``kinds`` (and ``links``),
    and writes :meth:`desired` and :meth:`apply`; everything else has a working default.
    Built by :meth:`from_config` from ``[tenants.X.targets.NAME]`` plus the tenant's policy.
    docs/adding-an-adapter.md, "The target", is the checklist.
    """

    config_model: ClassVar[type[Any]] = object
    """The pydantic model of the target's settings table (``from_config`` validates with it)."""
    record_types: ClassVar[Mapping[str, str]] = {}
    """Which source record each object kind stands for (``person``, ``group`` or ``school``),
    and each link kind's child: how a support engineer's "explain" finds the record behind an
    operation, and which of a refused record's objects are held. Empty: nothing is held."""
    field_limits: ClassVar[Mapping[str, Mapping[str, int]]] = {}
    """The most characters the service takes in each source-model field it is sent, by record
    type and field (``{"person": {"given_name": 64}}``): longer values are blocking findings
    (see :mod:`engine.limits`). Empty: no limit."""
    reads_drift: ClassVar[bool] = False
    """True when :meth:`refresh` reads the service to see changes made by hand (drift)."""
    whole_set: ClassVar[bool] = False
    """True for a feed that delivers its objects as one set of files (School Data Sync): the
    executor then hands all of a run's operations to :meth:`batches` together, in one level,
    so the set is delivered once per run, not once per level or per window of operations.
    Such a target declares no links and no ``depends_on``."""
    relation_kinds: ClassVar[frozenset[str]] = frozenset()
    """Object kinds that stand for relations (a file feed's enrollment rows, which cannot be
    links without splitting the set): the guard judges their removals as it judges links'."""

    name: str = "target"
    kinds: tuple[KindSpec, ...] = ()
    links: tuple[LinkSpec, ...] = ()
    rate_limit: RateLimit = RateLimit(writes=1_000_000, per_seconds=1.0)
    """The service's published limit and how many batches may be in flight (per lane). The
    executor bounds concurrency with it; pacing writes against the limit is the target's
    client's work (it alone knows what each request really costs)."""
    consistency_window_s: float = 0.0
    """How long an object the service has just made may stay hidden from :meth:`read_back`
    (its replication delay). A create in doubt is sent again only after this long with
    nothing found; ``0`` for a service that reads its own writes at once."""

    @classmethod
    def from_config(
        cls, name: str, settings: Mapping[str, Any], policy: TenantPolicy, secrets: SecretResolver
    ) -> TargetBase:
        """Build the target from its settings table and the tenant's policy."""
        raise NotImplementedError(f"{cls.__name__} cannot be built from configuration")

    @classmethod
    def tenant_files(cls, settings: Mapping[str, Any], base_dir: Path) -> tuple[Path, ...]:
        """The files and folders this target keeps on disk for its tenant (what ``ess journal
        delete-tenant`` removes with the journal rows); relative paths are taken from
        ``base_dir``, the ess.toml's folder. None by default."""
        return ()

    @abstractmethod
    def desired(self, snapshot: Snapshot) -> DesiredState:
        """Map the snapshot to this target's desired state under the tenant's policy."""

    async def refresh(self, observed: ObservedState, ctx: TargetContext) -> ObservedState:
        """The mirror corrected from the target (what was changed by hand), for a target that
        ``reads_drift``; the default trusts the mirror. The target only reports what it found:
        whether drift is repaired or only reported is the runner's decision (policy ``drift``).
        An object changed by hand keeps its row with the fingerprint :data:`DRIFTED`."""
        return observed

    def lane(self, op: Operation) -> str:
        """The lane an operation goes in (``rate_limit.lanes``): work the target paces on its
        own, so that slow work there never holds up the default lane (``""``)."""
        return ""

    def batches(self, ready: Sequence[Operation]) -> Sequence[Batch]:
        """Group operations whose dependencies are met into the requests it will make; the
        default sends each operation alone."""
        return [Batch((op,), 1) for op in ready]

    def batch_unit(self, op: Operation) -> BatchUnit:
        """Which operations may share a request with ``op`` and how many one request carries
        (:class:`BatchUnit`), as :meth:`batches` groups them: each batch of one group, the
        group's operations packed in order, each batch full but the last. While more of a
        group is still to come, the executor holds back its part-full last batch of a window,
        so no request but the group's last is sent part-full because a window of ready work
        ended. The default, :data:`ALONE`, holds nothing back."""
        return ALONE

    @abstractmethod
    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        """Apply one batch; one outcome per operation, in the batch's order."""

    async def read_back(self, op: Operation, ctx: TargetContext) -> Outcome | None:
        """The in-doubt look-up: did this operation take effect? Read the target to find out.

        Asked before an operation in doubt is sent again: one the target answered
        ``IN_DOUBT`` (a create met a 5xx or a timeout), and every item still in flight when a
        run stopped. Finds the object by its natural key (or the link, or the change) and
        answers ``DONE`` with its target id when it is there: the only way an item becomes
        done without an answer that proves it. ``None`` means not found (yet: a fresh object
        may stay hidden for ``consistency_window_s``); a ``RETRY`` outcome means the target
        could not be read, so nothing is known; ``FATAL`` stops the run. The default finds
        nothing: right only for a target that never answers ``IN_DOUBT``.
        """
        return None

    async def move_keys(self, ids: Mapping[str, Mapping[str, str]]) -> None:
        """``ess source rekey``: the tenant's source ids change (``ids``: record type -> old
        id -> new id). A target that finds its objects by the service's ids (the mirror's
        target ids) needs nothing: the journal moves its keys. A target whose service holds
        ESS's keys themselves (a natural key, such as an external id it is looked up by)
        renames them here; called again with the inverse when the journal's move fails."""
        return None

    async def check(self) -> Sequence[CheckResult]:
        """``ess target check``: sign in and compare what the service granted with what the
        configuration needs, one result per thing checked (each missing piece names its fix).
        Reads only; writes nothing. The default says this target has no check."""
        return (
            CheckResult(
                "check",
                CheckStatus.SKIPPED,
                f"the {type(self).__name__} target has no check of its own",
            ),
        )

    async def set_password(self, target_id: str, initial: Initial) -> str | None:
        """``ess password reset``: give one existing account a new initial password. Returns
        None when the service took it, else what went wrong. The default: this target cannot
        (its accounts sign in elsewhere, or it has no passwords)."""
        return f"the {type(self).__name__} target cannot set a password"

    async def expiries(self) -> Sequence[CredentialExpiry]:
        """The target's credentials that run out, where the service (or the file) says when:
        the scheduler tells the tenant's channels ``credential_expiring`` days ahead and
        ``ess target check`` shows them. Reads only; empty when nothing is known."""
        return ()

    def traffic(self) -> Mapping[str, int]:
        """What the target's HTTP client counted since it was built: ``requests``,
        ``retries`` and ``throttled`` (429s). The runner adds it to /metrics when the run
        closes the target; empty for a target without HTTP."""
        return {}

    async def aclose(self) -> None:
        """Release connections; the runner calls it once the run is over."""
        return None


Target = TargetBase
"""The type the engine asks for: any subclass of :class:`TargetBase`."""


@dataclass(frozen=True)
class TargetSummary:
    """Counts of what a target holds, for demo and status output."""

    name: str
    counts: Mapping[str, int] = field(default_factory=dict)
