"""The Google client: calls alone or in batches, through the kit's HTTP client, spread over the
admin subjects, each answer classified on its own.

Batches hold at most 50 Classroom calls or 1,000 Directory calls and never mix the two. A part
answered 429 (or the Directory's rate-limit 403) was not applied, so it is sent again alone,
in a later batch, no earlier than its Retry-After; a read answered 5xx likewise, and a call
answered NOT_FOUND that names an object created moments ago (Classroom learns of a new user
with a delay), on a schedule. A write
answered 5xx may have been applied: it is returned as it is, for the engine to read back by its
natural key. Callers must not put two calls in one batch when one depends on the other.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.kit.http import HttpClient
from adapters.kit.pacing import Pace, Pacer
from adapters.kit.retry import parse_retry_after
from adapters.kit.rounds import in_rounds

from .auth import DelegatedToken
from .batch import decode, encode
from .calls import Api, ApiCall
from .errors import Kind, Verdict, classify

BATCH_LIMITS: Mapping[Api, int] = {"classroom": 50, "directory": 1000}
LIST_BATCHES_IN_FLIGHT = 4  # batches of list pages sent at once by list_many
RESENDS = 6
REQUEST_ID_HEADERS = ("x-guploader-uploadid", "x-request-id")
"""Google's id of an answer: its uploads name one (``x-guploader-uploadid``), its JSON APIs
none, so a proxy's ``x-request-id`` is the only other one a ticket could quote."""
NOT_FOUND_SCHEDULE_S = (1.0, 3.0, 9.0)  # a new user reaches Classroom within seconds (GAM: 3 tries)


@dataclass(frozen=True)
class Answer:
    """One call's answer: status, JSON body and the verdict on it."""

    status: int
    body: Any
    verdict: Verdict

    @property
    def ok(self) -> bool:
        return self.verdict.kind is Kind.OK


class ListFailed(Exception):
    """A page of a list could not be read; what was read so far is not the whole."""

    def __init__(self, call: ApiCall, answer: Answer) -> None:
        super().__init__(f"{call.method} {call.template}: {answer.verdict.describe()}")
        self.answer = answer


@dataclass(frozen=True)
class Quotas:
    """Google's published quotas, calls per ``window_s`` (60 s; less only for a time-scaled
    sandbox): the client paces itself under them rather than be throttled."""

    classroom_per_user: int = 1200
    classroom_per_project: int = 3000
    directory_per_user: int = 2400
    window_s: float = 60.0


@dataclass
class ClientStats:
    calls: int = 0  # each call, a batch part included, as the quotas count
    http_requests: int = 0
    resent: int = 0


class GoogleClient:
    """Calls to one Google Workspace customer as its admin subjects."""

    def __init__(
        self,
        root_url: str,
        tokens: Sequence[DelegatedToken],
        http: HttpClient,
        *,
        batch_url: str | None = None,
        not_found_schedule_s: Sequence[float] = NOT_FOUND_SCHEDULE_S,
        quotas: Quotas | None = None,
    ) -> None:
        if not tokens:
            raise ValueError("at least one admin subject is needed")
        self.root_url = root_url.rstrip("/") + "/"
        self.batch_url = batch_url or self.root_url + "batch"
        self.tokens = list(tokens)
        self.http = http
        self.stats = ClientStats()
        self._turn = itertools.cycle(range(len(self.tokens)))
        self.not_found_schedule_s = tuple(not_found_schedule_s)
        self._held_until: dict[tuple[Api, int], float] = {}
        self.quotas = quotas
        self._pacers: dict[tuple[Api, int] | Api, Pacer] = {}

    def _pace(self, key: tuple[Api, int], calls: int) -> Pace | None:
        """What a request of ``calls`` calls costs: each call counts against its admin
        subject's quota and, for Classroom, the project's (reads too, as Google counts)."""
        q = self.quotas
        if q is None:
            return None
        api = key[0]
        per_user = q.classroom_per_user if api == "classroom" else q.directory_per_user
        mine = self._pacers.setdefault(key, Pacer(per_user, q.window_s))
        costs = [(mine, calls)]
        if api == "classroom":
            project = self._pacers.setdefault(api, Pacer(q.classroom_per_project, q.window_s))
            costs.append((project, calls))
        return Pace(costs=tuple(costs), holds=mine)

    async def _pick(self, api: Api) -> _Gate:
        """The next admin subject, once its throttle for ``api`` has run out: Google counts
        quota per subject, and a request sent while an earlier Retry-After runs is refused
        again, so none is sent before it, whichever batch it belongs to."""
        gate = _Gate(self, api, next(self._turn))
        await gate.wait()
        return gate

    def _hold(self, key: tuple[Api, int], retry_after: float | None) -> None:
        if retry_after is None or retry_after <= 0:
            return
        pacer = self._pacers.get(key)
        if pacer is not None:
            pacer.hold(retry_after)
        until = time.monotonic() + retry_after
        self._held_until[key] = max(self._held_until.get(key, 0.0), until)

    async def call(self, call: ApiCall, *, fresh: bool = False) -> Answer:
        """One call alone; the kit client retries what is safe to send twice. ``fresh``: an
        object the call names was created moments ago, so a NOT_FOUND is asked again on
        ``not_found_schedule_s`` before it counts."""
        answer = await self._call(call, fresh)
        for wait in self.not_found_schedule_s if fresh else ():
            if not (answer.status == 404 and answer.verdict.kind is Kind.RETRY):
                break
            self.stats.resent += 1
            await self.http.sleep(wait)
            answer = await self._call(call, fresh)
        return answer

    async def _call(self, call: ApiCall, fresh: bool) -> Answer:
        token = await self._pick(call.api)
        self.stats.calls += 1
        self.stats.http_requests += 1
        resp = await self.http.request(
            call.method,
            self.root_url + call.path,
            f"{call.method} {call.template}",
            params=call.params or None,
            content=_json(call.body),
            headers={"Content-Type": "application/json"} if call.body is not None else None,
            auth=token,
            observe=token.observe,
            pace=self._pace(token.key, 1),
        )
        body = resp.json() if resp.content else None
        return Answer(resp.status_code, body, classify(resp.status_code, body, fresh=fresh))

    async def list_all(self, page: Callable[[str], ApiCall], items: str) -> list[dict[str, Any]]:
        """Every item of a paged list: ``page(token)`` makes the call for one page ("" for
        the first), ``items`` names the list in the answer. Raises :class:`ListFailed` when a
        page cannot be read, so that a partial list is never taken for the whole."""
        out: list[dict[str, Any]] = []
        token = ""
        while True:
            call = page(token)
            answer = await self.call(call)
            if not answer.ok:
                raise ListFailed(call, answer)
            body = answer.body if isinstance(answer.body, dict) else {}
            out.extend(item for item in body.get(items, []) if isinstance(item, dict))
            token = str(body.get("nextPageToken") or "")
            if not token:
                return out

    async def list_many(
        self, pages: Sequence[Callable[[str], ApiCall]], items: str
    ) -> list[list[dict[str, Any]]]:
        """Many paged lists at once: every list's next page travels in batches with the
        others', so a roster per course costs a batch part, not an HTTP request. Raises
        :class:`ListFailed` when any page cannot be read."""
        out: list[list[dict[str, Any]]] = [[] for _ in pages]
        todo = {i: "" for i in range(len(pages))}
        gate = asyncio.Semaphore(LIST_BATCHES_IN_FLIGHT)

        async def send(made: list[ApiCall]) -> list[Answer]:
            async with gate:  # the pacers keep the lot under the quotas
                return await self.batch(made)

        while todo:
            order = list(todo)
            made = [pages[i](todo[i]) for i in order]
            size = BATCH_LIMITS[made[0].api]
            slices = [made[k : k + size] for k in range(0, len(made), size)]
            sent = await asyncio.gather(*(send(part) for part in slices))
            answers = [a for part in sent for a in part]
            todo = {}
            for i, call, answer in zip(order, made, answers, strict=True):
                if not answer.ok:
                    raise ListFailed(call, answer)
                body = answer.body if isinstance(answer.body, dict) else {}
                out[i].extend(item for item in body.get(items, []) if isinstance(item, dict))
                token = str(body.get("nextPageToken") or "")
                if token:
                    todo[i] = token
        return out

    async def batch(
        self, calls: Sequence[ApiCall], *, fresh: frozenset[int] = frozenset()
    ) -> list[Answer]:
        """Answers in the order of ``calls``; see the module doc for what is sent again.
        ``fresh`` holds the indexes of calls naming an object created moments ago."""
        answers: list[Answer | None] = [None] * len(calls)
        retry_afters: dict[int, float | None] = {}
        answered_at: dict[int, float] = {}

        async def send(todo: list[int]) -> None:
            for chunk in _chunks(calls, todo):
                results = await self._send([calls[i] for i in chunk], [i in fresh for i in chunk])
                for i, (answer, retry_after) in zip(chunk, results, strict=True):
                    answers[i] = answer
                    retry_afters[i] = retry_after
                    answered_at[i] = time.monotonic()

        def again(sent: list[int], round_: int) -> dict[int, float]:
            out: dict[int, float] = {}
            for j, i in enumerate(sent):
                answer = answers[i]
                assert answer is not None
                # a 5xx write may have been applied: the engine reads it back, not us
                if answer.verdict.kind is Kind.RETRY and (
                    answer.status < 500 or not calls[i].writes
                ):
                    self.stats.resent += 1
                    after = retry_afters.get(i)
                    delay = after if after is not None else 2.0 ** (round_ - 1)
                    # counted from its answer: the time since then has been waited already
                    out[j] = max(0.0, answered_at[i] + delay - time.monotonic())
            return out

        await in_rounds(range(len(calls)), send, again, max_rounds=RESENDS, sleep=self.http.sleep)
        return [a for a in answers if a is not None]

    async def _send(
        self, chunk: Sequence[ApiCall], fresh: Sequence[bool]
    ) -> list[tuple[Answer, float | None]]:
        api = chunk[0].api
        token = await self._pick(api)
        authorization = await token.header()
        content_type, body = encode(chunk, authorization)
        self.stats.calls += len(chunk)
        self.stats.http_requests += 1
        resp = await self.http.request(
            "POST",
            self.batch_url,
            f"batch of {len(chunk)} {chunk[0].api} calls",
            content=body,
            headers={"Content-Type": content_type},
            idempotent=False,
            auth=token,  # the envelope's header: the last look at the subject's throttle
            observe=token.observe,
            pace=self._pace(token.key, len(chunk)),
        )
        if resp.status_code != 200 or not resp.headers.get("content-type", "").startswith(
            "multipart/"
        ):
            body_json = resp.json() if resp.content and _is_json(resp.headers) else None
            verdict = classify(resp.status_code, body_json)
            if resp.status_code == 401:
                token.invalidate()
            wait = parse_retry_after(resp.headers.get("Retry-After"))
            return [(Answer(resp.status_code, body_json, verdict), wait) for _ in chunk]
        parts = decode(resp.headers["content-type"], resp.content, len(chunk))
        for p in parts:
            if p.status in THROTTLED:
                self._hold(token.key, parse_retry_after(p.headers.get("retry-after")))
        return [
            (
                Answer(p.status, p.body, classify(p.status, p.body, fresh=new)),
                parse_retry_after(p.headers.get("retry-after")),
            )
            for p, new in zip(parts, fresh, strict=True)
        ]


THROTTLED = frozenset({429, 403})  # the Directory answers its per-user quota with 403


class _Gate:
    """One admin subject's token for one API's requests: each attempt, the kit's own
    resends included, waits out a Retry-After any answer for this subject and API carried,
    and every answer's Retry-After is noted for the requests after it."""

    def __init__(self, client: GoogleClient, api: Api, index: int) -> None:
        self.client = client
        self.key = (api, index)
        self.token = client.tokens[index]

    async def wait(self) -> None:
        wait = self.client._held_until.get(self.key, 0.0) - time.monotonic()
        if wait > 0:
            await self.client.http.sleep(wait)

    async def header(self) -> str:
        await self.wait()
        return await self.token.header()

    def invalidate(self) -> None:
        self.token.invalidate()

    def observe(self, resp: httpx.Response) -> None:
        if resp.status_code in THROTTLED:
            self.client._hold(self.key, parse_retry_after(resp.headers.get("Retry-After")))


def _chunks(calls: Sequence[ApiCall], todo: Sequence[int]) -> list[list[int]]:
    """Indexes grouped by API, at most the API's batch limit each, in order."""
    out: list[list[int]] = []
    for api in ("directory", "classroom"):
        mine = [i for i in todo if calls[i].api == api]
        size = BATCH_LIMITS[api]
        out.extend(mine[k : k + size] for k in range(0, len(mine), size))
    return out


def _json(body: Any) -> bytes | None:
    return json.dumps(body).encode() if body is not None else None


def _is_json(headers: Mapping[str, str]) -> bool:
    return "json" in headers.get("content-type", "")
