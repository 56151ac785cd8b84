"""JSON batching: up to 20 requests per ``POST /$batch``, each inner answer handled alone.

A 200 envelope says nothing about the inner requests (reference §3.1): each inner 429 is sent
again on its own after its own Retry-After (Graph refused it before doing anything), and so is
an inner 5xx or timeout of a request that is safe to send twice (GET, PUT, PATCH, DELETE),
together with whatever depended on it (those come back 424). A POST answered with a 5xx or a
timeout is never sent again here: it may have created its object, so its answer goes back to
the operation, which reports it in doubt, and the executor reads it back before any resend.
Requests that must run in order carry ``dependsOn`` and stay in one envelope.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.kit.coalesce import Gatherer
from adapters.kit.http import request_id
from adapters.kit.outcomes import SAFE_TO_RESEND
from adapters.kit.rounds import in_rounds
from engine import request_ids

from .client import REQUEST_ID_HEADERS, WRITE_METHODS, GraphClient
from .errors import GraphResponse

MAX_BATCH = 20


def inner_request_id(resp: GraphResponse) -> str | None:
    """Graph's request-id of an answer inside a $batch: its headers', else its error body's
    ``innerError`` (reference §3.1: each inner body carries the normal error object)."""
    found = request_id(resp.headers or {}, REQUEST_ID_HEADERS)
    if found:
        return found
    err = resp.body.get("error") if isinstance(resp.body, dict) else None
    inner = err.get("innerError") if isinstance(err, dict) else None
    value = inner.get("request-id") if isinstance(inner, dict) else None
    return str(value) if value else None


def adds_references(body: Any) -> bool:
    """Whether a request body binds references (``members@odata.bind``): it adds, whatever its
    method says."""
    return isinstance(body, dict) and any(k.endswith("@odata.bind") for k in body)


TRANSIENT = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class SubRequest:
    """One request of a batch. ``id`` is unique within a call of :func:`run_requests`."""

    id: str
    method: str
    url: str  # relative to the version root, e.g. "/groups/{id}"
    body: Any = None
    depends_on: tuple[str, ...] = ()
    write_units: int | None = None  # default: 1 for a write, 0 for a read

    @property
    def resendable(self) -> bool:
        """Safe to send twice: a method that sets rather than adds, and no reference bound (a
        PATCH with ``members@odata.bind`` adds; sent twice, Graph refuses it as existing)."""
        return self.method in SAFE_TO_RESEND and not adds_references(self.body)

    @property
    def units(self) -> int:
        if self.write_units is not None:
            return self.write_units
        return 1 if self.method in WRITE_METHODS else 0

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "method": self.method, "url": self.url}
        if self.body is not None:
            out["body"] = self.body
            out["headers"] = {"Content-Type": "application/json"}
        if self.depends_on:
            out["dependsOn"] = list(self.depends_on)
        return out


@dataclass
class BatchRun:
    """Answers by request id, and how many rounds and envelopes it took."""

    responses: dict[str, GraphResponse] = field(default_factory=dict)
    rounds: int = 0
    envelopes: int = 0


def chunk(
    requests: Sequence[SubRequest], size: int = MAX_BATCH, max_units: int | None = None
) -> list[list[SubRequest]]:
    """Split into envelopes of at most ``size`` requests (and ``max_units`` writes), keeping
    each dependsOn chain in one envelope where it fits."""
    groups: list[list[SubRequest]] = []
    where: dict[str, int] = {}

    def fits(group: list[SubRequest], req: SubRequest) -> bool:
        if len(group) >= size:
            return False
        return max_units is None or sum(r.units for r in group) + req.units <= max_units

    for req in requests:
        home = next((where[d] for d in req.depends_on if d in where), None)
        if home is not None and fits(groups[home], req):
            groups[home].append(req)
            where[req.id] = home
            continue
        if home is not None:  # a chain longer than an envelope: break it (order kept by rounds)
            req = SubRequest(req.id, req.method, req.url, req.body, (), req.write_units)
        groups.append([req])
        where[req.id] = len(groups) - 1
    out: list[list[SubRequest]] = []
    for g in groups:  # pack small groups together
        units = sum(r.units for r in g)
        if (
            out
            and len(out[-1]) + len(g) <= size
            and (max_units is None or sum(r.units for r in out[-1]) + units <= max_units)
        ):
            out[-1].extend(g)
        else:
            out.append(list(g))
    return out


async def run_requests(
    client: GraphClient, requests: Sequence[SubRequest], *, max_rounds: int = 4
) -> BatchRun:
    """Send the requests (one alone, more in $batch envelopes), sending again alone, at most
    ``max_rounds`` times, what Graph throttled and what failed but is safe to send twice; the
    last answer of each id is returned."""
    run = BatchRun()

    async def send(todo: list[SubRequest]) -> None:
        envelopes = chunk(todo, MAX_BATCH, client.writes.limit)
        answers = await asyncio.gather(*(_send_envelope(client, env) for env in envelopes))
        run.envelopes += len(envelopes)
        for part in answers:
            run.responses.update(part)

    def again(sent: list[SubRequest], _round: int) -> dict[int, float]:
        transient = {r.id for r in sent if _again(r, run.responses[r.id])}
        out: dict[int, float] = {}
        for i, r in enumerate(sent):
            resp = run.responses[r.id]
            # a 424 is resent only with the transient failure it depended on
            if r.id in transient or (
                resp.status == 424 and any(d in transient for d in r.depends_on)
            ):
                # a 429 holds the client's gate already; a 5xx waits its own Retry-After
                is_5xx = resp.status in (500, 502, 503, 504)
                out[i] = min(resp.retry_after or 0.0, 60.0) if is_5xx else 0.0
        client.stats.retries += len(out)  # parts sent again count as retries (/metrics)
        return out

    run.rounds = await in_rounds(
        requests,
        send,
        again,
        max_rounds=max_rounds,
        prepare=lambda todo: [_without_done_deps(r, run) for r in todo],
    )
    return run


def _again(req: SubRequest, resp: GraphResponse) -> bool:
    """Whether a request may be sent again: throttled (not carried out), or a failure of a
    request that is safe to send twice."""
    if resp.status == 429:
        return True
    return resp.status in TRANSIENT and req.resendable


def _without_done_deps(req: SubRequest, run: BatchRun) -> SubRequest:
    """Drop dependsOn entries that already succeeded (they are not resent)."""
    deps = tuple(d for d in req.depends_on if not run.responses.get(d, GraphResponse(0)).ok)
    if deps == req.depends_on:
        return req
    return SubRequest(req.id, req.method, req.url, req.body, deps, req.write_units)


async def _send_envelope(
    client: GraphClient, envelope: list[SubRequest]
) -> dict[str, GraphResponse]:
    units = sum(r.units for r in envelope)
    if len(envelope) == 1:
        r = envelope[0]
        resp = await client.send(
            r.method, r.url, json=r.body, write_units=units, retry_transient=False
        )
        return {r.id: resp}
    resp = await client.send(
        "POST",
        "/$batch",
        json={"requests": [r.wire() for r in envelope]},
        write_units=units,
        retry_transient=False,
    )
    if not resp.ok or not isinstance(resp.body, dict):
        return {r.id: resp for r in envelope}  # the envelope failed: every request shares it
    out: dict[str, GraphResponse] = {}
    for item in resp.body.get("responses", []):
        rid = str(item.get("id"))
        inner = GraphResponse(
            int(item.get("status", 0)), item.get("body"), dict(item.get("headers") or {})
        )
        client.hold_for(inner)
        out[rid] = inner
    for r in envelope:
        if r.id not in out:
            out[r.id] = GraphResponse(
                502, {"error": {"code": "MissingResponse", "message": "no answer in $batch"}}
            )
    return out


class Coalescer:
    """Gathers the requests that concurrent operations make in the same moment into $batch
    envelopes (the kit's :class:`~adapters.kit.coalesce.Gatherer`), so each operation's
    logic reads as plain sequential calls."""

    def __init__(self, client: GraphClient, *, max_rounds: int = 4) -> None:
        self._client = client
        self._max_rounds = max_rounds
        self._gatherer: Gatherer[SubRequest, GraphResponse] = Gatherer(self._send)
        self._seq = 0
        self.envelopes = 0

    async def call(
        self, method: str, url: str, body: Any = None, *, write_units: int | None = None
    ) -> GraphResponse:
        (resp,) = await self.call_many([(method, url, body, write_units)], chain=False)
        return resp

    async def call_many(
        self, calls: Sequence[tuple[str, str, Any, int | None]], *, chain: bool
    ) -> list[GraphResponse]:
        """Several requests of one operation; ``chain`` runs them in order (dependsOn)."""
        reqs: list[SubRequest] = []
        for method, url, body, units in calls:
            self._seq += 1
            deps = (reqs[-1].id,) if chain and reqs else ()
            reqs.append(SubRequest(str(self._seq), method, url, body, deps, units))
        answers = await self._gatherer.ask(reqs)
        for resp in answers:  # in this operation's task: the inner answer's id is its own
            request_ids.note(resp.status, inner_request_id(resp))
        return answers

    async def _send(self, requests: list[SubRequest]) -> list[GraphResponse]:
        run = await run_requests(self._client, requests, max_rounds=self._max_rounds)
        self.envelopes += run.envelopes
        return [run.responses[r.id] for r in requests]
