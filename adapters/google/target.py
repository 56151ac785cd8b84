"""GoogleTarget: Google Workspace for Education (Directory accounts, Classroom courses and
rosters).

The engine plans; this target maps the snapshot to accounts and courses, sends each ready
operation's call in batches (Classroom 50, Directory 1,000, never two dependent calls in one
batch), creates org units as accounts need them, classifies every answer, and reads back a
create in doubt by its natural key (a user's primaryEmail, a course's ``d:`` alias) before it
is sent again.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from adapters.kit.http import HttpClient, NoAnswer
from adapters.kit.target import ServiceTarget, read_drift_into
from engine.first_sign_in import Initial
from engine.model import Snapshot
from engine.plan import Action, Operation
from engine.roster import RosterPolicy
from engine.secrets import SecretResolver
from engine.target import (
    ALONE,
    Batch,
    BatchUnit,
    CheckResult,
    DesiredState,
    LinkSpec,
    ObservedState,
    Outcome,
    OutcomeKind,
    RateLimit,
    TargetContext,
)

from . import calls
from .adopt import Accounts, conflict, put_right
from .auth import GROUP_SCOPE, SCOPES, DelegatedToken, GoogleTenantError
from .calls import ApiCall
from .check import check as check_tenant
from .client import BATCH_LIMITS, REQUEST_ID_HEADERS, GoogleClient, ListFailed, Quotas
from .config import GoogleConfig
from .drift import read_drift
from .errors import Kind
from .mapping import (
    COURSE,
    COURSE_STUDENT,
    COURSE_TEACHER,
    LINK_SPECS,
    USER,
    alias_of,
    desired_state,
    kind_specs,
    link_specs,
)
from .outcomes import no_answer, outcome
from .school_groups import GROUP_KINDS, MEMBER_LINKS

# Google's limits, in characters, for what each model field is sent as: givenName and
# familyName take 60; a course name 750 (a group's name and subject go into it).
FIELD_LIMITS: Mapping[str, Mapping[str, int]] = {
    "person": {"given_name": 60, "family_name": 60, "middle_name": 60},
    "group": {"name": 750, "subject": 750},
}


class GoogleTarget(ServiceTarget[GoogleConfig, GoogleClient]):
    """One Google Workspace for Education domain."""

    config_model: ClassVar[type[Any]] = GoogleConfig
    record_types: ClassVar[Mapping[str, str]] = {
        USER: "person",
        COURSE: "group",
        COURSE_TEACHER: "person",
        COURSE_STUDENT: "person",
        **{link: "person" for link in MEMBER_LINKS.values()},
    }
    field_limits: ClassVar[Mapping[str, Mapping[str, int]]] = FIELD_LIMITS
    reads_drift: ClassVar[bool] = True

    links: tuple[LinkSpec, ...] = LINK_SPECS  # and the school groups' member links when they are on

    def __init__(self, name: str, config: GoogleConfig, policy: Any, client: GoogleClient) -> None:
        super().__init__(name, config, policy, client)
        self.kinds = kind_specs(policy, config)
        self.links = link_specs(config)
        self.rate_limit = RateLimit(
            writes=config.classroom_per_min,
            per_seconds=config.quota_window_s,
            max_concurrency=config.max_concurrency,
        )
        self._desired: DesiredState | None = None
        self._org_units: set[str] | None = None
        self._accounts = Accounts(client)
        self._owners: dict[str, str] = {}  # course key -> owner key, for courses created here
        # the initial password of each account create in flight (engine.first_sign_in)
        self._initials: dict[str, Initial] = {}
        self._org_unit_lock = asyncio.Lock()

    @staticmethod
    def build_client(config: GoogleConfig, secrets: SecretResolver) -> GoogleClient:
        return build_client(config, secrets)

    # desired and observed ----------------------------------------------------------------

    def desired(self, snapshot: Snapshot) -> DesiredState:
        self._desired = desired_state(snapshot, self.config, RosterPolicy.of(self.policy))
        return self._desired

    async def refresh(self, observed: ObservedState, ctx: TargetContext) -> ObservedState:
        """The mirror as Google has it now (:mod:`adapters.google.drift`); whether it is
        repaired is the runner's decision (policy ``drift``). A list that cannot be read whole
        leaves the mirror as it is."""
        reading = read_drift(self.client, observed)
        unreachable = (ListFailed, NoAnswer, GoogleTenantError)
        return await read_drift_into(observed, ctx, reading, unreachable, "Google")

    # batching and applying ---------------------------------------------------------------

    def batch_unit(self, op: Operation) -> BatchUnit:
        """As :meth:`batches` groups them: Directory work in batches of 1,000, Classroom work
        in batches of 50, a course update alone."""
        if op.kind in _DIRECTORY:
            return _DIRECTORY_UNIT
        if op.kind == COURSE and op.action in _COMPOUND:
            return ALONE
        return _CLASSROOM_UNIT

    def batches(self, ready: Sequence[Operation]) -> Sequence[Batch]:
        """Directory work (accounts) and Classroom work (courses, rosters) in batches of
        their API's size; course updates alone, as they take calls that depend on each
        other."""
        directory = [op for op in ready if op.kind in _DIRECTORY]
        alone = [op for op in ready if op.kind == COURSE and op.action in _COMPOUND]
        classroom = [op for op in ready if op.kind not in _DIRECTORY and op not in alone]
        out: list[Batch] = []
        for ops, size in ((directory, _DIRECTORY_UNIT.size), (classroom, _CLASSROOM_UNIT.size)):
            for i in range(0, len(ops), size):
                chunk = tuple(ops[i : i + size])
                out.append(Batch(chunk, cost=len(chunk)))
        out.extend(Batch((op,), cost=3) for op in alone)
        return out

    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        ops = batch.operations
        try:
            if any(op.kind == USER and op.action in _SENDS_OU for op in ops):
                await self._ensure_org_units(ops)
            if len(ops) == 1 and ops[0].kind == COURSE and ops[0].action in _COMPOUND:
                return [await self._update_course(ops[0], ctx)]
            found = await self._matched(ops)
            done: dict[int, Outcome] = {}
            sending: list[int] = []
            made: list[ApiCall] = []
            for i, op in enumerate(ops):
                if self._ownerless(op, ctx):  # Classroom would answer NOT_FOUND, on a schedule
                    done[i] = Outcome.retry(
                        "owner_not_made", f"{op.describe()}: its owner's account is not made yet"
                    )
                    continue
                if self._owns(op):  # a course's create made its owner a teacher already
                    done[i] = Outcome.done(op.target_id or op.key)
                    continue
                if i in found:  # an existing account, adopted: put right, not created
                    fix = put_right(found[i], op.key, dict(op.attrs))
                    if fix is None:
                        done[i] = Outcome.done(str(found[i]["id"]), adopted=True)
                        continue
                    call = fix
                else:
                    call = self._call(op, ctx)
                sending.append(i)
                made.append(call)
            # a roster add or a course names users made moments ago: Classroom may not know
            # them yet, so a NOT_FOUND is asked again on a schedule
            fresh = frozenset(n for n, i in enumerate(sending) if ops[i].kind not in _DIRECTORY)
            answers = await self.client.batch(made, fresh=fresh) if made else []
            for i, answer in zip(sending, answers, strict=True):
                if i in found:
                    done[i] = self._adopted(answer, str(found[i]["id"]))
                else:
                    done[i] = await self._settle(ops[i], answer, ctx)
                    self._handed(ops[i], answer.ok, ctx)
                if ops[i].kind == COURSE and ops[i].action is Action.CREATE and answer.ok:
                    self._owners[ops[i].key] = str(dict(ops[i].attrs)["owner"])
            return [done[i] for i in range(len(ops))]
        except GoogleTenantError as exc:
            return [Outcome.fatal(exc.verdict.code or "auth", str(exc))] * len(ops)
        except NoAnswer as exc:
            return [no_answer(exc, creates=op.action is Action.CREATE) for op in ops]
        except ListFailed as exc:  # the accounts to match against could not be read whole
            text = f"the Directory's accounts could not be listed to match on externalId: {exc}"
            return [Outcome.retry("list_failed", text)] * len(ops)
        finally:
            for op in ops:  # a password whose create got no answer is not kept
                if op.kind == USER and op.action is Action.CREATE:
                    self._initials.pop(op.key, None)

    def _handed(self, op: Operation, ok: bool, ctx: TargetContext) -> None:
        """An account this create made gets its initial password handed over."""
        initial = self._initials.pop(op.key, None) if op.kind == USER else None
        if initial is not None and ok:
            email = str(dict(op.attrs)["primaryEmail"])
            ctx.passwords.created(op.target, op.key, op.label or op.key, email, initial)

    def _ownerless(self, op: Operation, ctx: TargetContext) -> bool:
        """A course to create whose owner's account this run has not made (its create failed
        or is in doubt): it waits for the account instead of being refused."""
        if op.kind != COURSE or op.action is not Action.CREATE:
            return False
        owner = str(dict(op.attrs)["owner"])
        return not (ctx.target_ids(USER, owner) or ctx.ids.get((USER, owner)))

    def _owns(self, op: Operation) -> bool:
        """The teacher link of the owner of a course this target created: Classroom made the
        owner a teacher with the course, so adding them is no call (it would answer 409)."""
        return (
            op.kind == COURSE_TEACHER
            and op.action is Action.LINK
            and self._owners.get(op.parent or "") == op.key
        )

    async def _matched(self, ops: Sequence[Operation]) -> dict[int, dict[str, Any]]:
        """Under ``match_key = "externalId"``: the existing account of each account to be
        created that the Directory already holds, by the op's index."""
        creates = [i for i, op in enumerate(ops) if op.kind == USER and op.action is Action.CREATE]
        if self.config.match_key != "externalId" or not creates:
            return {}
        existing = await self._accounts.by_external_id()
        return {i: existing[ops[i].key] for i in creates if ops[i].key in existing}

    @staticmethod
    def _adopted(answer: Any, user_id: str) -> Outcome:
        if answer.ok:
            return Outcome.done(user_id, adopted=True)
        return outcome(answer, creates=False, target_id=user_id)

    def _attrs(self, op: Operation) -> dict[str, Any]:
        return dict(op.attrs)

    def _user_key(self, key: str, ctx: TargetContext, fallback: str | None = None) -> str:
        """A user's Directory id when known, else the primaryEmail it is meant to have."""
        known = ctx.target_ids(USER, key) or ctx.ids.get((USER, key)) or fallback
        if known:
            return known
        want = self._desired.objects.get(USER, {}).get(key) if self._desired else None
        return str(dict(want.attrs)["primaryEmail"]) if want else key

    def _course_key(self, key: str, ctx: TargetContext, fallback: str | None = None) -> str:
        """A course's id when known, else its alias (Classroom takes either)."""
        return (
            ctx.target_ids(COURSE, key) or ctx.ids.get((COURSE, key)) or fallback or (alias_of(key))
        )

    def _call(self, op: Operation, ctx: TargetContext) -> ApiCall:
        a = self._attrs(op)
        if op.kind == USER:
            user = self._user_key(op.key, ctx, op.target_id)
            if op.action is Action.CREATE:
                initial = self._initials[op.key] = ctx.passwords.initial()
                return calls.insert_user(
                    {
                        "primaryEmail": a["primaryEmail"],
                        "name": {"givenName": a["givenName"], "familyName": a["familyName"]},
                        "password": initial.password,
                        "changePasswordAtNextLogin": initial.change_at_first_sign_in,
                        "orgUnitPath": a["orgUnitPath"],
                        "externalIds": [{"type": "organization", "value": a["externalId"]}],
                    }
                )
            if op.action in (Action.UPDATE, Action.RESTORE):
                return calls.patch_user(
                    user,
                    {
                        "name": {"givenName": a["givenName"], "familyName": a["familyName"]},
                        "orgUnitPath": a["orgUnitPath"],
                        "suspended": False,
                    },
                )
            if op.action is Action.SUSPEND:
                return calls.patch_user(user, {"suspended": True})
            return calls.delete_user(user)
        if op.kind in _GROUPS or op.kind in _MEMBERS:
            return self._group_call(op, ctx)
        if op.kind == COURSE:
            course = self._course_key(op.key, ctx, op.target_id)
            if op.action is Action.CREATE:
                return calls.create_course(
                    {
                        "id": a["alias"],
                        "name": a["name"],
                        "section": a["section"],
                        "ownerId": self._user_key(str(a["owner"]), ctx),
                        "courseState": self.config.course_state,
                    }
                )
            return calls.patch_course(course, {"courseState": "ARCHIVED"})
        role = "teachers" if op.kind == COURSE_TEACHER else "students"
        course = self._course_key(op.parent or "", ctx, op.parent_target_id)
        user = self._user_key(op.key, ctx, op.target_id)
        if op.action is Action.LINK:
            return calls.add_member(course, role, user)  # type: ignore[arg-type]
        return calls.remove_member(course, role, user)  # type: ignore[arg-type]

    def _group_key(self, kind: str, key: str, ctx: TargetContext, known: str | None) -> str:
        """A school group's Directory id when known, else its address."""
        found = known or ctx.target_ids(kind, key) or ctx.ids.get((kind, key))
        if found:
            return found
        want = self._desired.objects.get(kind, {}).get(key) if self._desired else None
        return str(dict(want.attrs)["email"]) if want else key

    def _group_call(self, op: Operation, ctx: TargetContext) -> ApiCall:
        """A school group made, renamed or deleted, or a member added or removed."""
        if op.kind in _MEMBERS:
            kind = op.kind.removesuffix(".member")
            group = self._group_key(kind, op.parent or "", ctx, op.parent_target_id)
            user = self._user_key(op.key, ctx, op.target_id)
            if op.action is Action.LINK:
                return calls.insert_group_member(group, user)
            return calls.delete_group_member(group, user)
        a = self._attrs(op)
        group = self._group_key(op.kind, op.key, ctx, op.target_id)
        if op.action is Action.CREATE:
            return calls.insert_group(a["email"], a["name"], a["description"])
        if op.action in (Action.UPDATE, Action.RESTORE):
            # a new address (a school renamed) keeps the old one as an alias: mail still arrives
            body = {"email": a["email"], "name": a["name"], "description": a["description"]}
            return calls.patch_group(group, body)
        return calls.delete_group(group)

    async def _settle(self, op: Operation, answer: Any, ctx: TargetContext) -> Outcome:
        """The outcome of one op's answer, with the follow-ups an answer asks for: a 409 on a
        create is adopted by reading the object back; a removal of what is gone is done; a
        user who cannot be added directly is invited."""
        creates = op.action is Action.CREATE
        verdict = answer.verdict
        if verdict.kind is Kind.ADOPT and creates and op.kind == USER:
            return await self._adopt_user(op)
        if verdict.kind is Kind.ADOPT and creates and op.kind in (COURSE, *_GROUPS):
            found = await self.read_back(op, ctx)
            if found is not None and found.kind is OutcomeKind.DONE:
                return Outcome.done(found.target_id, adopted=True)
            if found is not None:  # the read-back got no answer: adopted only once it does
                return found
            return Outcome.failed(
                "conflict", f"{verdict.describe()}; the existing object could not be read back"
            )
        if answer.status == 404 and op.action in (Action.UNLINK, Action.DELETE):
            return Outcome.done(op.target_id)
        if op.action is Action.LINK and verdict.code == "CannotDirectAddUser":
            return await self._invite(op, ctx)
        target_id = op.target_id if not creates else None
        if op.is_link:
            return outcome(answer, creates=False, target_id=op.target_id or op.key)
        return outcome(answer, creates=creates, target_id=target_id)

    async def _adopt_user(self, op: Operation) -> Outcome:
        """The address is taken: the account holding it is this person's (made by hand, by
        another tool, or by ESS itself in a run whose answer was lost) unless it carries another
        person's external id; adopted, it is put right in the same run."""
        email = str(dict(op.attrs)["primaryEmail"])
        try:
            answer = await self.client.call(calls.get_user(email))
            if answer.status == 404:  # a group's address, or gone again
                return Outcome.failed(
                    "conflict", f"the address {email} is taken by a group or another object"
                )
            if not answer.ok:
                return outcome(answer, creates=False)
            found = dict(answer.body)
            problem = conflict(found, op.key, email)
            if problem:
                return Outcome.failed("conflict", problem)
            fix = put_right(found, op.key, dict(op.attrs))
            if fix is not None:
                fixed = await self.client.call(fix)
                if not fixed.ok:
                    return outcome(fixed, creates=False, target_id=str(found["id"]))
            return Outcome.done(str(found["id"]), adopted=True)
        except GoogleTenantError as exc:
            return Outcome.fatal(exc.verdict.code or "auth", str(exc))
        except NoAnswer as exc:
            return Outcome.retry(exc.kind, str(exc))

    async def _invite(self, op: Operation, ctx: TargetContext) -> Outcome:
        """The direct-add rule keeps the user out (another domain): invite instead."""
        role: Literal["TEACHER", "STUDENT"] = "TEACHER" if op.kind == COURSE_TEACHER else "STUDENT"
        course = self._course_key(op.parent or "", ctx, op.parent_target_id)
        answer = await self.client.call(
            calls.create_invitation(course, role, self._user_key(op.key, ctx, op.target_id))
        )
        if answer.verdict.kind is Kind.ADOPT:
            return Outcome.done(op.target_id or op.key, adopted=True)
        return outcome(answer, creates=False, target_id=op.target_id or op.key)

    async def _update_course(self, op: Operation, ctx: TargetContext) -> Outcome:
        """Name, section and state, then the owner: the new owner must teach the course
        first, and naming the owner again is ``@UserAlreadyOwner``, which is done."""
        a = self._attrs(op)
        course = self._course_key(op.key, ctx, op.target_id)
        owner = self._user_key(str(a["owner"]), ctx)
        changes = {"name": a["name"], "section": a["section"], "courseState": "ACTIVE"}
        steps = (
            (calls.patch_course(course, changes), False),
            (calls.add_member(course, "teachers", owner), True),
            (calls.patch_course(course, {"ownerId": owner}), True),
        )
        for call, adoptable in steps:
            answer = await self.client.call(call, fresh=True)
            if answer.ok or (adoptable and answer.verdict.kind is Kind.ADOPT):
                continue
            return outcome(answer, creates=False, target_id=op.target_id)
        return Outcome.done(op.target_id or ctx.target_ids(COURSE, op.key))

    async def _ensure_org_units(self, ops: Sequence[Operation]) -> None:
        """Create the org units these accounts go in, parents first, once each. Batches are
        applied concurrently: one at a time makes them, so that two never race to make the
        same unit (the loser would be refused, and its accounts with it)."""
        async with self._org_unit_lock:
            await self._make_org_units(ops)

    async def _make_org_units(self, ops: Sequence[Operation]) -> None:
        if self._org_units is None:
            answer = await self.client.call(calls.list_orgunits())
            units = answer.body.get("organizationUnits", []) if answer.ok else []
            self._org_units = {"/"} | {str(u.get("orgUnitPath")) for u in units}
        wanted = {
            str(dict(op.attrs)["orgUnitPath"])
            for op in ops
            if op.kind == USER and op.action in _SENDS_OU
        }
        for path in sorted(wanted):
            parts = [p for p in path.split("/") if p]
            for depth in range(1, len(parts) + 1):
                here = "/" + "/".join(parts[:depth])
                if here in self._org_units:
                    continue
                parent = "/" + "/".join(parts[: depth - 1])
                answer = await self.client.call(calls.insert_orgunit(parts[depth - 1], parent))
                if not (answer.ok or answer.verdict.kind is Kind.ADOPT):
                    # Google refuses a unit that exists ("Invalid Ou Id"): made meanwhile by
                    # someone else, it is there to use
                    answer = await self.client.call(calls.get_orgunit(here))
                if answer.ok or answer.verdict.kind is Kind.ADOPT:
                    self._org_units.add(here)
                else:
                    break  # the accounts' own answers say what is wrong

    async def read_back(self, op: Operation, ctx: TargetContext) -> Outcome | None:
        """A user by its primaryEmail, a course by its alias; a roster change is safe to
        send again, so it is not looked up."""
        if op.kind == USER:
            call = calls.get_user(str(dict(op.attrs).get("primaryEmail") or op.target_id))
        elif op.kind == COURSE:
            call = calls.get_course(alias_of(op.key))
        elif op.kind in _GROUPS:
            call = calls.get_group(str(dict(op.attrs).get("email") or op.target_id))
        else:
            return None
        try:
            answer = await self.client.call(call)
        except GoogleTenantError as exc:
            return Outcome.fatal(exc.verdict.code or "auth", str(exc))
        except NoAnswer as exc:
            return Outcome.retry(exc.kind, str(exc))
        if answer.ok:
            return Outcome.done(str(answer.body["id"]))
        if answer.status == 404:
            return None
        return outcome(answer, creates=False)

    async def set_password(self, target_id: str, initial: Initial) -> str | None:
        """An admin's password reset: patch the user's password and changePasswordAtNextLogin."""
        body = {
            "password": initial.password,
            "changePasswordAtNextLogin": initial.change_at_first_sign_in,
        }
        try:
            answer = await self.client.call(calls.patch_user(target_id, body))
        except (GoogleTenantError, NoAnswer) as exc:
            return f"the Directory could not be reached: {exc}"
        return None if answer.ok else answer.verdict.describe()

    async def check(self) -> Sequence[CheckResult]:
        """Tokens, scopes and the two APIs (adapters/google/check.py); writes nothing."""
        return await check_tenant(self.client, self.config)

    async def aclose(self) -> None:
        await self.client.http.aclose()


_COMPOUND = frozenset({Action.UPDATE, Action.RESTORE})
_GROUPS = frozenset(GROUP_KINDS.values())
_MEMBERS = frozenset(MEMBER_LINKS.values())
_DIRECTORY = frozenset({USER}) | _GROUPS | _MEMBERS
_DIRECTORY_UNIT = BatchUnit("directory", BATCH_LIMITS["directory"])
_CLASSROOM_UNIT = BatchUnit("classroom", BATCH_LIMITS["classroom"])
_SENDS_OU = frozenset({Action.CREATE, Action.UPDATE, Action.RESTORE})


def _path(value: Path | None, base: Path) -> Path | None:
    if value is None:
        return None
    value = value.expanduser()
    return value if value.is_absolute() else base / value


def build_client(config: GoogleConfig, secrets: SecretResolver) -> GoogleClient:
    """Resolve the service account key and build one token per admin subject."""
    key = json.loads(secrets.resolve(config.service_account_key).reveal())
    if config.token_uri:
        key["token_uri"] = config.token_uri
    ca = _path(config.verify, secrets.base_dir)
    ca_path = str(ca) if ca else None
    verify: bool | ssl.SSLContext = ssl.create_default_context(cafile=ca_path) if ca_path else True
    # a scope asked for but not delegated refuses every token: the group scope only when used
    scopes = SCOPES + ((GROUP_SCOPE,) if config.school_groups else ())
    tokens = [
        DelegatedToken(key, subject, ca_path=ca_path, timeout_s=config.timeout_s, scopes=scopes)
        for subject in config.admin_subjects
    ]
    http = HttpClient(
        timeout_s=config.timeout_s,
        verify=verify,
        max_connections=config.max_concurrency * 4,
        request_id_headers=REQUEST_ID_HEADERS,
    )
    quotas = Quotas(
        classroom_per_user=config.classroom_per_user_per_min,
        classroom_per_project=config.classroom_per_project_per_min,
        window_s=config.quota_window_s,
    )
    return GoogleClient(config.root_url, tokens, http, batch_url=config.batch_url, quotas=quotas)
