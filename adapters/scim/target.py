"""ScimTarget: a SCIM 2.0 service (RFC 7643/7644) under the ``core`` or ``egil`` profile.

``core``: create-if-absent (the service's Users and Groups are listed once per run, by
externalId and userName; a 409 ``uniqueness`` is adopted by reading the holder back), PATCH
for attributes and for membership (adds and removes of one group in bounded chunks), If-Match
with the version last seen where the service offers ETags, deprovisioning as ``active=false``
and DELETE after the grace period. ``egil``: the resource's path id is the source UUID; a
create is POST, answered 409 by a PUT of the whole resource; changes are whole-resource PUTs;
membership lives in StudentGroup and teaching in Activity. Bulk is used for object writes only
when the service's ServiceProviderConfig offers it.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import orjson

from adapters.kit.http import HttpClient, NoAnswer
from adapters.kit.target import ServiceTarget, read_drift_into
from engine.model import Snapshot
from engine.plan import Action, Operation
from engine.roster import RosterPolicy
from engine.secrets import SecretResolver
from engine.target import (
    Batch,
    BatchUnit,
    CheckResult,
    DesiredState,
    ObservedState,
    Outcome,
    OutcomeKind,
    RateLimit,
    TargetContext,
)

from .client import (
    BULK_REQUEST,
    PATCH_OP,
    Answer,
    Capabilities,
    ClientCredentials,
    ListFailed,
    ScimClient,
    ScimTenantError,
    StaticToken,
)
from .config import ScimConfig
from .drift import DriftReport, compare
from .errors import classify, is_adoptable, no_answer
from .mapping import CORE_LINKS, GROUP, GROUP_MEMBER, USER, desired_state, kind_specs, resource_body
from .profiles import PROFILES, ResourceSpec

ENVELOPE_BYTES = len(orjson.dumps({"schemas": [BULK_REQUEST], "failOnErrors": 0, "Operations": []}))
"""The bytes of a Bulk request without its operations, as the client writes it (orjson)."""


@dataclass(frozen=True)
class Request:
    """One request an operation sends first (alone or inside a Bulk request)."""

    method: str
    path: str
    body: Any = None
    if_match: str | None = None
    adopted: bool = False
    target_id: str | None = None


class ScimTarget(ServiceTarget[ScimConfig, ScimClient]):
    """One SCIM service."""

    config_model: ClassVar[type[Any]] = ScimConfig
    record_types: ClassVar[Mapping[str, str]] = {
        USER: "person",
        GROUP: "group",
        GROUP_MEMBER: "person",
        "school_unit": "school",
        "employment": "person",
        "student_group": "group",
        "activity": "group",
    }
    reads_drift: ClassVar[bool] = True

    def __init__(self, name: str, config: ScimConfig, policy: Any, client: ScimClient) -> None:
        super().__init__(name, config, policy, client)
        self.profile = config.profile
        self.specs: Mapping[str, ResourceSpec] = PROFILES[config.profile]
        self.kinds = kind_specs(config.profile, policy)
        self.links = CORE_LINKS if config.profile == "core" else ()
        rate = config.requests_per_second
        self.rate_limit = RateLimit(
            writes=max(1, int(rate)) if rate else 1_000_000,
            per_seconds=1.0,
            max_concurrency=config.max_concurrency,
        )
        self._index: dict[str, dict[str, str]] = {}  # kind -> externalId/userName -> id
        self._versions: dict[str, str] = {}  # id -> version last seen
        self._index_lock = asyncio.Lock()
        self._creating: set[int] = set()  # creates handed out and not answered yet (seqs)
        self._bulk_sizes: dict[int, int] = {}  # seq -> bytes its write takes in a Bulk request

    @staticmethod
    def build_client(config: ScimConfig, secrets: SecretResolver) -> ScimClient:
        return build_client(config, secrets)

    def desired(self, snapshot: Snapshot) -> DesiredState:
        return desired_state(snapshot, self.config, RosterPolicy.of(self.policy), self.name)

    async def refresh(self, observed: ObservedState, ctx: TargetContext) -> ObservedState:
        """The mirror as the service has it (:mod:`adapters.scim.drift`), unless
        ``read_drift = false``; whether it is repaired is the runner's decision. The same
        listing is the run's create-if-absent index and its ETag versions."""
        if not self.config.read_drift:
            return observed
        unreachable = (ListFailed, NoAnswer, ScimTenantError)
        return await read_drift_into(
            observed, ctx, self._read_drift(observed), unreachable, "the SCIM service"
        )

    async def _read_drift(self, observed: ObservedState) -> tuple[ObservedState, DriftReport]:
        await self.client.capabilities()
        listings: dict[str, list[dict[str, Any]]] = {}
        for kind, spec in self.specs.items():
            resources = await self.client.list_all(spec.endpoint)
            listings[kind] = resources
            if self.profile == "core":
                self._index[kind] = self._indexed_from(resources)
        return compare(observed, listings, self.specs, self.profile)

    def _indexed_from(self, resources: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        index: dict[str, str] = {}
        for r in resources:
            rid = str(r.get("id"))
            version = (r.get("meta") or {}).get("version")
            if version:
                self._versions[rid] = str(version)
            if r.get("userName"):
                index[f"u:{str(r['userName']).lower()}"] = rid
            if r.get("externalId"):
                index[f"x:{r['externalId']}"] = rid
        return index

    # ------------------------------------------------------------------ batching
    def batch_unit(self, op: Operation) -> BatchUnit:
        """A group's member changes share PATCHes of ``members_per_patch``; object writes of
        one kind and action share Bulk requests (:meth:`_per_bulk`), or go alone without."""
        if op.is_link:
            return BatchUnit(f"members of {op.parent}", self.config.members_per_patch)
        return BatchUnit(f"{op.kind} {op.action}", self._per_bulk())

    def _per_bulk(self) -> int:
        """Object writes one Bulk request carries: ``bulk_size``, at most the service's
        ``maxOperations``; 1 when the service offers no Bulk or ESS may not use it. Before
        discovery has been read, ``bulk_size`` (what :meth:`batches` groups by)."""
        if not self.config.use_bulk:
            return 1
        caps = self.client.known_capabilities
        if caps is None:
            return self.config.bulk_size
        if not caps.bulk:
            return 1
        return max(1, min(self.config.bulk_size, caps.bulk_max_operations))

    def batches(self, ready: Sequence[Operation]) -> Sequence[Batch]:
        """Member changes of one group in chunks of ``members_per_patch`` (one PATCH each);
        object writes of one kind and action in chunks of one Bulk request's size when the
        service offers Bulk (:meth:`_per_bulk`), else of ``bulk_size`` (one request each)."""
        out: list[Batch] = []
        links: dict[str, list[Operation]] = {}
        objects: dict[tuple[str, Action], list[Operation]] = {}
        for op in ready:
            if op.is_link:
                links.setdefault(op.parent or "", []).append(op)
            else:
                objects.setdefault((op.kind, op.action), []).append(op)
        makes = [op.seq for op in ready if op.action is Action.CREATE and not op.is_link]
        self._creating.update(makes)
        if links and self._creating:
            # accounts and groups are still being made: their member changes become ready as
            # they are, so sending those ready now would split a group's changes over several
            # PATCHes. They are asked for again once every create handed out has answered.
            links = {}
        for ops in links.values():
            size = self.config.members_per_patch
            for i in range(0, len(ops), size):
                out.append(Batch(tuple(ops[i : i + size]), cost=1))
        per_bulk = self._per_bulk()
        for ops in objects.values():
            if per_bulk > 1:
                out.extend(Batch(c, cost=len(c)) for c in self._in_bulk_requests(ops, per_bulk))
                continue
            size = self.config.bulk_size
            for i in range(0, len(ops), size):
                chunk = tuple(ops[i : i + size])
                out.append(Batch(chunk, cost=len(chunk)))
        return out

    def _in_bulk_requests(self, ops: Sequence[Operation], size: int) -> list[tuple[Operation, ...]]:
        """Object writes packed in order into Bulk requests as :meth:`_send` sends them: at
        most ``size``, and within the service's ``maxPayloadSize`` (as :func:`_bulk_chunks`
        counts it), so that each batch is one Bulk request, full but the last."""
        caps = self.client.known_capabilities
        limit = _payload_room(caps.bulk_max_payload) if caps else 0
        out: list[tuple[Operation, ...]] = []
        chunk: list[Operation] = []
        used = 0
        for op in ops:
            cost = self._bulk_bytes(op, size) if limit else 0
            if chunk and (len(chunk) >= size or (limit and used + cost > limit)):
                out.append(tuple(chunk))
                chunk, used = [], 0
            chunk.append(op)
            used += cost
        if chunk:
            out.append(tuple(chunk))
        return out

    def _bulk_bytes(self, op: Operation, size: int) -> int:
        """At least the bytes ``op``'s first request takes in a Bulk request (reckoned once
        per operation): exactly EGIL's, and for ``core`` the resource's body with room for
        a PatchOp's wrapping and an ETag, as the look-ups may make it a PATCH."""
        got = self._bulk_sizes.get(op.seq)
        if got is None:
            spec = self._spec(op)
            if self.profile == "egil":
                request, spare = self._egil_first(op, spec), 0
            else:
                path = f"{spec.endpoint}/{op.target_id or op.key}"
                request, spare = Request("PATCH", path, self._body(op, active=True)), 256
            got = len(orjson.dumps(_bulk_op(size, request))) + 1 + spare  # and its comma
            self._bulk_sizes[op.seq] = got
        return got

    # ------------------------------------------------------------------ applying
    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        try:
            return await self._apply(batch, ctx)
        finally:
            self._creating.difference_update(op.seq for op in batch.operations)

    async def _apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        ops = batch.operations
        try:
            caps = await self.client.capabilities()
            if ops[0].is_link:
                return await self._members(ops, caps, ctx)
            firsts: list[Request | Outcome] = [await self._first(op, caps, ctx) for op in ops]
            sendable = [(i, r) for i, r in enumerate(firsts) if isinstance(r, Request)]
            answers = await self._send([r for _, r in sendable], caps)
            out: list[Outcome] = [r if isinstance(r, Outcome) else Outcome.done() for r in firsts]
            settled = await asyncio.gather(
                *(
                    self._settle(ops[i], req, answer, caps, ctx)
                    for (i, req), answer in zip(sendable, answers, strict=True)
                )
            )
            for (i, _), outcome in zip(sendable, settled, strict=True):
                out[i] = outcome
            return out
        except ScimTenantError as exc:
            return [Outcome.fatal(exc.reason, str(exc))] * len(ops)
        except ListFailed as exc:
            return [Outcome.retry("list_failed", str(exc))] * len(ops)
        except NoAnswer as exc:
            return [no_answer(exc, creates=op.action is Action.CREATE) for op in ops]

    async def _send(
        self, requests: Sequence[Request], caps: Capabilities
    ) -> list[Answer | NoAnswer]:
        """Each request alone, or together in Bulk requests when the service offers Bulk."""
        if not requests:
            return []
        if caps.bulk and self.config.use_bulk and len(requests) > 1:
            size = max(1, min(self.config.bulk_size, caps.bulk_max_operations))
            out: list[Answer | NoAnswer] = []
            for chunk in _bulk_chunks(requests, size, caps.bulk_max_payload):
                ops = [_bulk_op(n, r) for n, r in enumerate(chunk)]
                try:
                    out.extend(await self.client.bulk(ops))
                except NoAnswer as exc:
                    out.extend([exc] * len(chunk))
            return out

        async def one(r: Request) -> Answer | NoAnswer:
            try:
                return await self.client.request(
                    r.method, r.path, f"{r.method} {r.path}", body=r.body, if_match=r.if_match
                )
            except NoAnswer as exc:
                return exc

        return list(await asyncio.gather(*(one(r) for r in requests)))

    def _spec(self, op: Operation) -> ResourceSpec:
        return self.specs[op.kind]

    def _body(self, op: Operation, *, active: bool | None = None) -> dict[str, Any]:
        body = resource_body(self._spec(op), dict(op.attrs))
        if self.profile == "core" and op.kind == USER and active is not None:
            body["active"] = active
        return body

    def _id_of(self, op: Operation, ctx: TargetContext) -> str | None:
        if self.profile == "egil":
            return str(dict(op.attrs).get("uuid") or op.target_id or "") or None
        return op.target_id or ctx.target_ids(op.kind, op.key) or ctx.ids.get((op.kind, op.key))

    async def _first(
        self, op: Operation, caps: Capabilities, ctx: TargetContext
    ) -> Request | Outcome:
        spec = self._spec(op)
        if self.profile == "egil":
            return self._egil_first(op, spec)
        if op.action is Action.CREATE:
            found = await self._indexed(op, spec)
            if found is not None:
                return self._change(op, found, caps, adopted=True)
            return Request("POST", spec.endpoint, self._body(op, active=True))
        target = self._id_of(op, ctx)
        if target is None:
            return Outcome.failed(
                "no_target_id", f"{op.describe()}: its id in the service is unknown"
            )
        if op.action is Action.DELETE:
            return Request("DELETE", f"{spec.endpoint}/{target}", target_id=target)
        if caps.etag:
            await self._load_index(op.kind, spec)  # the versions to send If-Match with
        return self._change(op, target, caps)

    def _egil_first(self, op: Operation, spec: ResourceSpec) -> Request:
        uid = str(dict(op.attrs).get("uuid") or op.target_id)
        if op.action is Action.CREATE:
            return Request("POST", spec.endpoint, self._body(op), target_id=uid)
        if op.action is Action.DELETE:
            return Request("DELETE", f"{spec.endpoint}/{uid}", target_id=uid)
        return Request("PUT", f"{spec.endpoint}/{uid}", self._body(op), target_id=uid)

    def _change(
        self, op: Operation, target: str, caps: Capabilities, *, adopted: bool = False
    ) -> Request:
        """A core update, restore, suspend or adoption: a PATCH of the profile's attributes
        (a PUT of the whole resource where PATCH is not offered), If-Match where ETags are."""
        spec = self._spec(op)
        path = f"{spec.endpoint}/{target}"
        suspend = op.action is Action.SUSPEND
        if_match = self._versions.get(target) if caps.etag else None
        if not caps.patch:
            body = self._body(op, active=not suspend)
            body["id"] = target
            return Request("PUT", path, body, if_match, adopted, target)
        if suspend:
            ops: list[dict[str, Any]] = [{"op": "replace", "path": "active", "value": False}]
        else:
            body = self._body(op, active=True if op.kind == USER else None)
            ops = _patch_ops(body, spec)
        return Request(
            "PATCH", path, {"schemas": [PATCH_OP], "Operations": ops}, if_match, adopted, target
        )

    async def _settle(
        self,
        op: Operation,
        req: Request,
        answer: Answer | NoAnswer,
        caps: Capabilities,
        ctx: TargetContext,
    ) -> Outcome:
        where = f"{req.method} {req.path}"
        creates = req.method == "POST"
        if isinstance(answer, NoAnswer):
            return no_answer(answer, creates=creates)
        if answer.ok:
            target = req.target_id or _id(answer)
            if target and answer.etag:
                self._versions[target] = answer.etag
            return Outcome.done(target, adopted=req.adopted)
        if answer.status == 404 and req.method == "DELETE":
            return Outcome.done(req.target_id)
        if creates and is_adoptable(answer):
            return await self._adopt(op, caps)
        if self.profile == "egil" and req.method == "PUT" and answer.status == 404:
            # removed by hand since: made again, with the same UUID
            again = await self.client.request("POST", self._spec(op).endpoint, where, body=req.body)
            return classify(again, "POST", where, req.target_id)
        if answer.status == 412 and req.target_id:
            return await self._after_conflict(op, req, caps)
        return classify(answer, req.method, where, req.target_id)

    async def _adopt(self, op: Operation, caps: Capabilities) -> Outcome:
        """A create answered 409: the object exists. EGIL: PUT the whole resource to its UUID.
        Core: find the holder by externalId, else by userName, and PATCH it to the desired
        state; adopted only once it is read back."""
        spec = self._spec(op)
        if self.profile == "egil":
            uid = str(dict(op.attrs)["uuid"])
            answer = await self.client.request(
                "PUT", f"{spec.endpoint}/{uid}", f"PUT {spec.endpoint}/{uid}", body=self._body(op)
            )
            outcome = classify(answer, "PUT", f"PUT {spec.endpoint}/{uid}", uid)
            return Outcome.done(uid, adopted=True) if outcome.kind is OutcomeKind.DONE else outcome
        found = await self._look_up(op, spec)
        if found is None:
            return Outcome.retry("not_visible", f"{op.describe()}: 409, but no holder found yet")
        if isinstance(found, Outcome):
            return found
        req = self._change(op, found, caps, adopted=True)
        answer = await self.client.request(
            req.method, req.path, f"{req.method} {req.path}", body=req.body, if_match=req.if_match
        )
        if answer.ok:
            return Outcome.done(found, adopted=True)
        return classify(answer, req.method, f"{req.method} {req.path}", found)

    async def _after_conflict(self, op: Operation, req: Request, caps: Capabilities) -> Outcome:
        """412: the object changed since its version was read. Read it again and send the
        change once more with the new version; a second 412 is left to a later retry."""
        target = str(req.target_id)
        path = f"{self._spec(op).endpoint}/{target}"
        fresh = await self.client.request("GET", path, f"GET {path}")
        if not fresh.ok:
            return classify(fresh, "GET", f"GET {path}", target)
        version = fresh.etag or str((fresh.body.get("meta") or {}).get("version") or "") or None
        if version:
            self._versions[target] = version
        again = self._change(op, target, caps, adopted=req.adopted)
        answer = await self.client.request(
            again.method,
            again.path,
            f"{again.method} {again.path}",
            body=again.body,
            if_match=again.if_match,
        )
        return classify(answer, again.method, f"{again.method} {again.path}", target)

    async def _indexed(self, op: Operation, spec: ResourceSpec) -> str | None:
        """The id of the object a core create would make, if the service already holds it
        (listed once per run per kind, by externalId and, for users, userName)."""
        index = await self._load_index(op.kind, spec)
        values = dict(op.attrs)
        found = index.get(f"x:{values.get('id')}")
        if found is None and op.kind == USER and values.get("user_name"):
            found = index.get(f"u:{str(values['user_name']).lower()}")
        return found

    async def _load_index(self, kind: str, spec: ResourceSpec) -> dict[str, str]:
        """The kind's resources in the service, listed once per run: ids by externalId and
        userName, and each one's version (its ETag)."""
        async with self._index_lock:
            index = self._index.get(kind)
            if index is None:
                attrs = "externalId,userName,meta" if kind == USER else "externalId,meta"
                index = self._indexed_from(await self.client.list_all(spec.endpoint, attrs))
                self._index[kind] = index
            return index

    async def _look_up(self, op: Operation, spec: ResourceSpec) -> str | Outcome | None:
        """The id of the object by a filter on externalId, else userName (users); a service
        that offers no filtering is listed whole instead."""
        values = dict(op.attrs)
        tries = [("externalId", str(values.get("id") or op.key))]
        if op.kind == USER and values.get("user_name"):
            tries.append(("userName", str(values["user_name"])))
        if not (await self.client.capabilities()).filter:
            try:
                listed = await self.client.list_all(spec.endpoint, "externalId,userName")
            except ListFailed as exc:
                return Outcome.retry("list_failed", str(exc))
            for attr, value in tries:
                for r in listed:
                    held = str(r.get(attr) or "")
                    if held == value or (attr == "userName" and held.lower() == value.lower()):
                        return str(r["id"])
            return None
        for attr, value in tries:
            try:
                found = await self.client.find(spec.endpoint, attr, value)
            except NoAnswer as exc:
                return Outcome.retry(exc.kind, str(exc))
            if found is None:
                return Outcome.retry("read_failed", f"{spec.endpoint}: a look-up by {attr} failed")
            if found:
                return str(found[0]["id"])
        return None

    # ------------------------------------------------------------------ membership (core)
    async def _members(
        self, ops: Sequence[Operation], caps: Capabilities, ctx: TargetContext
    ) -> list[Outcome]:
        """The member adds and removes of one group in one PATCH; a refused PATCH of several
        is sent again one change at a time, so one bad member holds up only itself."""
        parent = ops[0].parent or ""
        group = (
            ops[0].parent_target_id or ctx.target_ids(GROUP, parent) or ctx.ids.get((GROUP, parent))
        )
        if not group:
            return [Outcome.retry("not_ready", f"group {parent} has no id yet")] * len(ops)
        users = [
            op.target_id or ctx.target_ids(USER, op.key) or ctx.ids.get((USER, op.key))
            for op in ops
        ]
        missing = [i for i, u in enumerate(users) if not u]
        out: list[Outcome | None] = [None] * len(ops)
        for i in missing:
            out[i] = Outcome.failed(
                "no_user", f"{ops[i].describe()}: the user has no id in the service"
            )
        todo = [(op, str(u)) for op, u in zip(ops, users, strict=True) if u]
        path = f"/Groups/{group}"
        if todo:
            answer = await self._member_patch(path, todo, caps)
            if answer.ok or answer.status == 404 or len(todo) == 1:
                results = [self._member_outcome(op, answer, path) for op, _ in todo]
            else:
                results = []
                for pair in todo:
                    single = await self._member_patch(path, [pair], caps)
                    results.append(self._member_outcome(pair[0], single, path))
            it = iter(results)
            out = [o if o is not None else next(it) for o in out]
        return [o for o in out if o is not None]

    async def _member_patch(
        self, path: str, pairs: Sequence[tuple[Operation, str]], caps: Capabilities
    ) -> Answer:
        adds = [{"value": uid} for op, uid in pairs if op.action is Action.LINK]
        removes = [
            {"op": "remove", "path": f'members[value eq "{uid}"]'}
            for op, uid in pairs
            if op.action is Action.UNLINK
        ]
        operations: list[dict[str, Any]] = []
        if adds:
            operations.append({"op": "add", "path": "members", "value": adds})
        operations += removes
        if not caps.patch:
            return await self._member_put(path, pairs)
        return await self.client.request(
            "PATCH",
            path,
            f"PATCH {path} (members)",
            body={"schemas": [PATCH_OP], "Operations": operations},
        )

    async def _member_put(self, path: str, pairs: Sequence[tuple[Operation, str]]) -> Answer:
        """Without PATCH: read the group, change its members, PUT it whole."""
        current = await self.client.request("GET", path, f"GET {path}")
        if not current.ok:
            return current
        body = dict(current.body)
        members = {str(m.get("value")) for m in body.get("members") or []}
        for op, uid in pairs:
            (members.add if op.action is Action.LINK else members.discard)(uid)
        body["members"] = [{"value": m} for m in sorted(members)]
        body.pop("meta", None)
        return await self.client.request("PUT", path, f"PUT {path}", body=body)

    def _member_outcome(self, op: Operation, answer: Answer, path: str) -> Outcome:
        if answer.ok:
            return Outcome.done(op.target_id or op.key)
        if op.action is Action.UNLINK and (answer.status == 404 or answer.scim_type == "noTarget"):
            return Outcome.done(op.target_id or op.key)  # not a member already
        return classify(answer, "PATCH", f"PATCH {path} (members)", op.target_id)

    # ------------------------------------------------------------------ writes in doubt
    async def read_back(self, op: Operation, ctx: TargetContext) -> Outcome | None:
        """An object by its natural key: EGIL's UUID path id; core's externalId, else
        userName. Member changes are safe to send again: never in doubt."""
        if op.is_link:
            return None
        spec = self._spec(op)
        try:
            if self.profile == "egil":
                uid = str(dict(op.attrs).get("uuid") or op.target_id)
                path = f"{spec.endpoint}/{uid}"
                answer = await self.client.request("GET", path, f"GET {path}")
                if answer.ok:
                    return Outcome.done(uid)
                if answer.status == 404:
                    return None
                return classify(answer, "GET", f"GET {path}", uid)
            found = await self._look_up(op, spec)
        except ScimTenantError as exc:
            return Outcome.fatal(exc.reason, str(exc))
        except NoAnswer as exc:
            return Outcome.retry(exc.kind, str(exc))
        if found is None or isinstance(found, Outcome):
            return found
        return Outcome.done(found)

    async def check(self) -> Sequence[CheckResult]:
        """Discovery, auth, the profile's schemas and one page read (adapters/scim/check.py)."""
        from .check import check_results  # check.py builds on this module

        return await check_results(self.client, self.config)

    async def aclose(self) -> None:
        await self.client.aclose()


def _patch_ops(body: Mapping[str, Any], spec: ResourceSpec | None = None) -> list[dict[str, Any]]:
    """``replace`` operations for every attribute of ``body``; an extension's attributes each
    by its full path (replacing an extension's root is not handled alike by every service).
    With ``spec``, each attribute of the profile that ``body`` no longer holds (a value the
    source cleared, such as an e-mail) is a ``remove`` (RFC 7644 3.5.2.2: removing an
    unassigned attribute changes nothing), so a cleared value does not linger in the service."""
    ops: list[dict[str, Any]] = []
    for key, value in body.items():
        if key == "schemas":
            continue
        if key.startswith("urn:") and isinstance(value, dict):
            ops += [{"op": "replace", "path": f"{key}:{k}", "value": v} for k, v in value.items()]
        else:
            ops.append({"op": "replace", "path": key, "value": value})
    if spec is not None:
        for path in _cleared(body, spec):
            ops.append({"op": "remove", "path": path})
    return ops


_NEVER_REMOVED = frozenset({"userName", "displayName", "externalId", "active", "id"})
"""Attributes a resource always keeps (required, or ESS's own key): never sent as removed."""


def _cleared(body: Mapping[str, Any], spec: ResourceSpec) -> list[str]:
    """The profile's attribute paths ``body`` leaves out, each once, in the profile's order."""
    out: list[str] = []
    for path, _ in spec.rows:
        if path.startswith("urn:"):
            urn, _, attr = path.rpartition(":")
            held = attr in body.get(urn, {})
        else:
            head, _, sub = path.partition(".")
            held = head in body and (not sub or sub in body[head])
            if head in _NEVER_REMOVED:
                continue
        if not held and path not in out:
            out.append(path)
    return out


def _bulk_chunks(
    requests: Sequence[Request], size: int, max_payload: int
) -> list[Sequence[Request]]:
    """Requests in Bulk requests of at most ``size`` operations and, where the service names
    one, of at most its ``maxPayloadSize`` bytes as the client writes them."""
    limit = _payload_room(max_payload)
    out: list[Sequence[Request]] = []
    chunk: list[Request] = []
    used = 0
    for n, r in enumerate(requests):
        cost = len(orjson.dumps(_bulk_op(n, r))) + 1 if limit else 0  # and its comma
        if chunk and (len(chunk) >= size or (limit and used + cost > limit)):
            out.append(chunk)
            chunk, used = [], 0
        chunk.append(r)
        used += cost
    if chunk:
        out.append(chunk)
    return out


def _payload_room(max_payload: int) -> int:
    """The bytes a Bulk request's operations (each with its comma) may take within the
    service's ``maxPayloadSize``; 0 when it names none."""
    return max(1, max_payload - ENVELOPE_BYTES + 1) if max_payload else 0


def _bulk_op(n: int, r: Request) -> dict[str, Any]:
    op: dict[str, Any] = {"method": r.method, "path": r.path, "bulkId": f"b{n}"}
    if r.body is not None:
        op["data"] = r.body
    if r.if_match:
        op["version"] = r.if_match
    return op


def _id(answer: Answer) -> str | None:
    body = answer.body
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        return str(body["id"])
    return None


def _path(value: Path | None, base: Path) -> Path | None:
    if value is None:
        return None
    value = value.expanduser()
    return value if value.is_absolute() else base / value


def build_client(config: ScimConfig, secrets: SecretResolver) -> ScimClient:
    """The client with its credentials resolved: a static bearer token or OAuth2 client
    credentials."""
    ca = _path(config.verify, secrets.base_dir)
    verify: bool | ssl.SSLContext = ssl.create_default_context(cafile=str(ca)) if ca else True
    http = HttpClient(
        timeout_s=config.timeout_s, verify=verify, max_connections=config.max_concurrency * 4
    )
    if config.token:
        http.auth = StaticToken(secrets.resolve(config.token).reveal())
    else:
        assert config.token_url and config.client_id and config.client_secret
        token_http = HttpClient(timeout_s=config.timeout_s, verify=verify, max_connections=2)
        http.auth = ClientCredentials(
            token_http,
            config.token_url,
            config.client_id,
            secrets.resolve(config.client_secret).reveal(),
            config.scope,
        )
    return ScimClient(
        config.base_url,
        http,
        page_size=config.page_size,
        requests_per_second=config.requests_per_second,
    )
