"""MicrosoftTarget: Microsoft 365 Education (Graph education API, groups, Class Teams).

The engine plans; this target maps the snapshot to Graph objects, groups ready operations into
as few write requests as Graph allows ($batch of 20, member binds of 20 per PATCH), applies
them, classifies every answer, reads drift back, and reads back work in doubt (a create
that met a 5xx or a timeout, work in flight when a run stopped) before it is sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from adapters.kit.target import ServiceTarget, read_drift_into
from engine import request_ids
from engine.config import TenantPolicy
from engine.first_sign_in import Initial
from engine.model import Snapshot
from engine.plan import Action, Operation
from engine.roster import RosterPolicy
from engine.secrets import Secret, SecretResolver
from engine.target import (
    ALONE,
    Batch,
    BatchUnit,
    CheckResult,
    CredentialExpiry,
    DesiredState,
    KindSpec,
    LinkSpec,
    ObservedState,
    Outcome,
    RateLimit,
    TargetContext,
)

from .auth import AuthError, TokenProvider, load_certificate
from .batch import MAX_BATCH, Coalescer
from .check import check as check_tenant
from .client import GraphClient, GraphUnavailable
from .config import MicrosoftConfig
from .drift import DriftReport, read_drift
from .expiry import app_expiries
from .links import apply_binds, apply_link, bind_requests, is_bind
from .mapping import desired_state
from .objects import apply_object
from .runtime import Memory, Runtime
from .teams import apply_team
from .verify import read_back_operation

# Graph's documented limits, in characters, for the properties each model field is sent as:
# user givenName and surname 64 (so displayName, the two with a space, stays far below its
# 256); the middle name goes into the userPrincipalName's local part and mailNickname, which
# take 64; a group's and a school's displayName take 256 (a class's name and subject go into
# its displayName, externalName and classCode). An address longer than 254 characters cannot
# travel in mail at all (RFC 5321), so neither can a user's mail.
FIELD_LIMITS: Mapping[str, Mapping[str, int]] = {
    "person": {"given_name": 64, "family_name": 64, "middle_name": 64, "emails": 254},
    "group": {"name": 256, "subject": 256},
    "school": {"name": 256, "school_unit_code": 256},
}

TEAMS_PER_BATCH = 100  # POSTs paced at 10/s, then polled together
_PLAIN_UNIT = BatchUnit("plain", MAX_BATCH)
TEAMS_LANE = "teams"
TEAM_BATCHES_IN_FLIGHT = 2  # 200 teams at a time: the creation limit, not this, sets the pace


def kind_specs(config: MicrosoftConfig, policy: TenantPolicy) -> tuple[KindSpec, ...]:
    """Kinds in creation order, with retirement from the tenant's policy."""
    class_retire = policy.class_end
    team_retire: Literal["archive", "keep", "delete"] = class_retire
    if class_retire == "archive" and not config.team_archive_on_end:
        team_retire = "keep"
    kinds = [
        KindSpec("school", 1, retire="keep"),
        KindSpec("user", 2, retire="suspend", grace_days=policy.suspend_grace_days),
        KindSpec("class", 3, retire=class_retire),
    ]
    if config.create_teams:
        kinds.append(KindSpec("team", 4, retire=team_retire, depends_on=("class",)))
    return tuple(kinds)


LINK_SPECS = (
    LinkSpec("school.user", "school", "user", rank=1),
    LinkSpec("school.class", "school", "class", rank=2),
    LinkSpec("class.member", "class", "user", rank=3),
    LinkSpec("class.teacher", "class", "user", rank=3),
)


class MicrosoftTarget(ServiceTarget[MicrosoftConfig, GraphClient]):
    """One Microsoft 365 Education tenant."""

    config_model: ClassVar[type[Any]] = MicrosoftConfig
    record_types: ClassVar[Mapping[str, str]] = {
        "school": "school",
        "user": "person",
        "class": "group",
        "team": "group",
        "school.user": "person",
        "school.class": "group",
        "class.member": "person",
        "class.teacher": "person",
    }
    reads_drift: ClassVar[bool] = True
    field_limits: ClassVar[Mapping[str, Mapping[str, int]]] = FIELD_LIMITS
    links = LINK_SPECS

    def __init__(
        self,
        name: str,
        config: MicrosoftConfig,
        policy: TenantPolicy,
        client: GraphClient,
    ) -> None:
        super().__init__(name, config, policy, client)
        self.kinds = kind_specs(config, policy)
        self.rate_limit = RateLimit(
            writes=config.write_limit,
            per_seconds=config.write_window_s,
            max_concurrency=config.max_concurrency,
            lanes=((TEAMS_LANE, TEAM_BATCHES_IN_FLIGHT),),
        )
        self.memory = Memory()

    @staticmethod
    def build_client(config: MicrosoftConfig, secrets: SecretResolver) -> GraphClient:
        return build_client(config, secrets)

    # desired and observed ----------------------------------------------------------------

    def desired(self, snapshot: Snapshot) -> DesiredState:
        state = desired_state(snapshot, self.config, RosterPolicy.of(self.policy))
        self.memory = Memory(desired=state)  # a new run: forget what the last one bound
        return state

    async def refresh(self, observed: ObservedState, ctx: TargetContext) -> ObservedState:
        """The mirror as Microsoft 365 has it now; whether it is repaired is the runner's
        decision (policy ``drift``), not this target's."""
        reading = self._read_drift(observed, ctx)
        unreachable = (AuthError, GraphUnavailable)
        return await read_drift_into(observed, ctx, reading, unreachable, "Microsoft 365")

    async def _read_drift(
        self, observed: ObservedState, ctx: TargetContext
    ) -> tuple[ObservedState, DriftReport]:
        corrected, report = await read_drift(self.client, observed, self.memory)
        if report.unreadable:
            ctx.emit(
                "warning",
                f"{report.unreadable} account(s) or class(es) could not be read for drift; "
                "they are checked again next run",
            )
        return corrected, report

    # batching and applying ---------------------------------------------------------------

    def lane(self, op: Operation) -> str:
        """Class Teams go in a lane of their own: their own limit (10 creations a second, not
        directory writes) and minutes of polling must not hold up the directory writes."""
        return TEAMS_LANE if op.kind == "team" else ""

    def batch_unit(self, op: Operation) -> BatchUnit:
        """Writes of objects and school links share ``$batch`` requests of 20; member and
        owner binds (packed by the PATCHes they take) and Class Teams are not cut."""
        if op.kind == "team" or is_bind(op):
            return ALONE
        return _PLAIN_UNIT

    def batches(self, ready: Sequence[Operation]) -> Sequence[Batch]:
        out: list[Batch] = []
        plain: list[Operation] = []
        teams: list[Operation] = []
        binds: dict[str, list[Operation]] = {}
        for op in ready:
            if op.kind == "team":
                teams.append(op)
            elif is_bind(op):
                binds.setdefault(op.parent or "", []).append(op)
            else:
                plain.append(op)
        current: list[Operation] = []
        patches = 0
        for ops in binds.values():
            n = bind_requests(ops)
            if current and patches + n > MAX_BATCH:
                out.append(Batch(tuple(current), cost=patches))
                current, patches = [], 0
            current.extend(ops)
            patches += n
        if current:
            out.append(Batch(tuple(current), cost=patches))
        current, units = [], 0
        for op in plain:
            n = write_units(op)
            if current and (len(current) >= MAX_BATCH or units + n > MAX_BATCH):
                out.append(Batch(tuple(current), cost=units))
                current, units = [], 0
            current.append(op)
            units += n
        if current:
            out.append(Batch(tuple(current), cost=units))
        for i in range(0, len(teams), TEAMS_PER_BATCH):
            out.append(Batch(tuple(teams[i : i + TEAMS_PER_BATCH]), cost=0))
        return out

    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        rt = Runtime(self.config, self.client, ctx, Coalescer(self.client), self.memory)
        ops = batch.operations
        results: dict[int, Outcome] = {}
        try:
            binds: dict[str, list[Operation]] = {}
            singles: list[Operation] = []
            for op in ops:
                if is_bind(op):
                    binds.setdefault(op.parent or "", []).append(op)
                else:
                    singles.append(op)
            bind_results, single_results = await asyncio.gather(
                asyncio.gather(*(self._binds(rt, group) for group in binds.values())),
                asyncio.gather(*(self._one(rt, op) for op in singles)),
            )
            for part in bind_results:
                results.update(part)
            for op, outcome in zip(singles, single_results, strict=True):
                results[op.seq] = outcome
        except AuthError as exc:
            if exc.transient:
                return [Outcome.retry("auth_unreachable", str(exc), 30.0)] * len(ops)
            return [Outcome.fatal("auth", str(exc))] * len(ops)
        except GraphUnavailable as exc:
            return [Outcome.retry("unreachable", str(exc), 30.0)] * len(ops)
        return [results.get(op.seq) or Outcome.retry("error", "no outcome") for op in ops]

    async def _one(self, rt: Runtime, op: Operation) -> Outcome:
        with request_ids.operation(op.seq):  # Graph's request-id of its answers is this op's
            if op.kind == "team":
                return await apply_team(rt, op)
            if op.is_link:
                return await apply_link(rt, op)
            return await apply_object(rt, op)

    async def _binds(self, rt: Runtime, group: Sequence[Operation]) -> dict[int, Outcome]:
        with request_ids.operation(*(op.seq for op in group)):  # one request adds them all
            return await apply_binds(rt, group)

    async def read_back(self, op: Operation, ctx: TargetContext) -> Outcome | None:
        """The in-doubt look-up: read the operation's object, link or change back by natural
        key (:mod:`adapters.microsoft.verify`)."""
        rt = Runtime(self.config, self.client, ctx, Coalescer(self.client), self.memory)
        try:
            return await read_back_operation(rt, op)
        except AuthError as exc:
            if exc.transient:
                return Outcome.retry("auth_unreachable", str(exc), 30.0)
            return Outcome.fatal("auth", str(exc))
        except GraphUnavailable as exc:
            return Outcome.retry("unreachable", str(exc), 30.0)

    async def check(self) -> Sequence[CheckResult]:
        """Sign-in, granted permissions, domain, licences and how long the credentials last
        (adapters/microsoft/check.py)."""
        return await check_tenant(self.client, self.config)

    async def set_password(self, target_id: str, initial: Initial) -> str | None:
        """An admin's password reset: PATCH the user's passwordProfile (needs the app's
        User-PasswordProfile.ReadWrite.All or User.ReadWrite.All and, for admins, a directory
        role; [memory] for which role Graph asks of the app)."""
        profile = {
            "password": initial.password,
            "forceChangePasswordNextSignIn": initial.change_at_first_sign_in,
        }
        try:
            resp = await self.client.send(
                "PATCH", f"users/{target_id}", json={"passwordProfile": profile}
            )
        except (AuthError, GraphUnavailable) as exc:
            return f"Graph could not be reached: {exc}"
        if resp.ok:
            return None
        return f"Graph answered {resp.status} {resp.error_code}: {resp.error_message}"

    async def expiries(self) -> Sequence[CredentialExpiry]:
        """The app's client secrets and certificates as Graph reports them
        (adapters/microsoft/expiry.py)."""
        return await app_expiries(self.client, self.config)

    async def aclose(self) -> None:
        await self.client.aclose()


def write_units(op: Operation) -> int:
    """Directory writes one (non-bind) operation is expected to cost."""
    if op.kind == "team" or (op.kind == "class" and op.action is Action.ARCHIVE):
        return 0
    if op.kind == "class.teacher" and op.action is Action.UNLINK:
        return 2
    return 1


def _path(value: Path | None, base: Path) -> Path | None:
    if value is None:
        return None
    value = value.expanduser()
    return value if value.is_absolute() else base / value


def build_client(config: MicrosoftConfig, secrets: SecretResolver) -> GraphClient:
    """Resolve the credential and build the token provider and HTTP client."""
    base = secrets.base_dir
    verify_path = _path(config.verify, base)
    verify: str | bool = str(verify_path) if verify_path else True
    secret: Secret | None = None
    certificate = None
    if config.client_secret is not None:
        secret = secrets.resolve(config.client_secret)
    else:
        cert_path = _path(config.certificate_path, base)
        assert cert_path is not None  # the config model requires one credential
        password = (
            secrets.resolve(config.certificate_password) if config.certificate_password else None
        )
        certificate = load_certificate(cert_path, password, config.certificate_thumbprint)
    tokens = TokenProvider(
        client_id=config.client_id,
        authority=config.authority_url,
        custom_authority=config.custom_authority,
        secret=secret,
        certificate=certificate,
        verify=verify,
        timeout_s=config.timeout_s,
    )
    return GraphClient(
        config.graph_url,
        tokens,
        verify=verify,
        timeout_s=config.timeout_s,
        max_concurrency=config.max_concurrency,
        write_limit=config.write_limit,
        write_window_s=config.write_window_s,
    )
