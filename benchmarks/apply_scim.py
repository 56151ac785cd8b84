"""Apply benchmark of the SCIM target against scim2-server (the SCIM sandbox) over loopback.

A sample municipality (SS 12000 folder) is synced through the engine (``engine.ops``) into the
sandbox, for each profile (``core``, ``egil``), with Bulk (as the service offers it) and without
(a service offering no Bulk); then the sample advances one term and is synced again. For each
run it prints:

* requests issued (the service's own count, discovery and listings included) / the minimum the
  profile and the service's capabilities allow (goal <= 1.05): discovery (3 reads once per run),
  one listing page per ``page_size`` resources of each kind of the profile (the run's one read
  of the service: drift, and for ``core`` its create-if-absent index and ETag versions; an
  empty kind is one page), one write per object change, one PATCH per
  group per ``members_per_patch`` member changes (``core``); with Bulk, object writes of one
  kind and action in Bulk requests of the service's ``maxOperations`` and, as its
  ``maxPayloadSize`` bounds them, of at most that many bytes (the fewest bytes each write
  takes, :func:`bulk_bytes`); the minimum by ``maxOperations`` alone is printed as well;
* the requests of the next-term sync;
* the wall time of a naive client (one request per change, in sequence, no look-ups) / ESS's.
  The naive client is measured on up to ``--naive-limit`` changes and extrapolated.

    .venv/bin/python benchmarks/apply_scim.py --size small
    .venv/bin/python benchmarks/apply_scim.py            # medium: 15,000 pupils (long)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import ssl
import tempfile
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
from apply_harness import (
    engine_sync,
    naive_timing,
    snapshot_of,
    target_from,
    the_plan,
    write_ess_toml,
)

from adapters.scim.mapping import GROUP_MEMBER, resource_body
from adapters.scim.profiles import PROFILES
from adapters.scim.sandbox import SandboxSettings, ScimSandbox
from adapters.scim.target import ScimTarget
from adapters.ss12000.sample.command import SAMPLE
from engine.plan import Action, Operation, Plan
from engine.plugins import SampleRequest
from engine.target import ObservedState
from engine.testing.mirror import mirror_of

TOKEN_ENV = "ESS_BENCH_SCIM_TOKEN"
PAGE = 500
MEMBERS_PER_PATCH = 100


def write_config(
    workdir: Path, sb: ScimSandbox, data: Path, profile: str, bulk: int, timeout_s: float
) -> Path:
    info = sb.info
    table = {
        "type": "scim",
        "base_url": info.base_url,
        "profile": profile,
        "token": f"env:{TOKEN_ENV}",
        "verify": info.ca_path,
        "page_size": PAGE,
        "members_per_patch": MEMBERS_PER_PATCH,
        "bulk_size": bulk,
        "timeout_s": timeout_s,
        "max_concurrency": 8,
    }
    return write_ess_toml(workdir / "ess.toml", data, "scim", table)


def minimum_requests(
    p: Plan, before: ObservedState, profile: str, bulk_max: int, payload: int = 0
) -> int:
    """What the profile and the capabilities cannot avoid (see the module's docstring); with
    ``payload``, Bulk requests also within the service's ``maxPayloadSize``."""
    reads = 3
    objects: dict[tuple[str, Action], int] = defaultdict(int)
    sizes: dict[tuple[str, Action], int] = defaultdict(int)
    members: dict[str, int] = defaultdict(int)
    for op in p.operations:
        if op.kind == GROUP_MEMBER:
            members[op.parent or ""] += 1
        else:
            objects[(op.kind, op.action)] += 1
            if payload:
                sizes[(op.kind, op.action)] += bulk_bytes(op, profile)
    for kind in PROFILES[profile]:  # the run's one listing: drift, index and versions
        held = len(before.objects.get(kind, {}))
        reads += max(1, math.ceil(held / PAGE))
    if bulk_max:
        room = payload - len(orjson.dumps(BULK_ENVELOPE)) + 1 if payload else 0
        writes = sum(
            max(math.ceil(n / bulk_max), math.ceil(sizes[g] / room) if room else 0)
            for g, n in objects.items()
        )
    else:
        writes = sum(objects.values())
    writes += sum(math.ceil(n / MEMBERS_PER_PATCH) for n in members.values())
    return reads + writes


BULK_ENVELOPE = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
    "failOnErrors": 0,
    "Operations": [],
}


def bulk_bytes(op: Operation, profile: str) -> int:
    """The fewest bytes ``op`` can take in a Bulk request (RFC 7644 §3.7, compact JSON, and
    its comma): its method, path and bulkId, and the resource when it is sent whole (a create;
    an EGIL update, a PUT). A core PATCH, smaller, is counted without its body."""
    spec = PROFILES[profile][op.kind]
    one: dict[str, Any] = {"method": "POST", "path": spec.endpoint, "bulkId": "b0"}
    if op.action is Action.CREATE or (profile == "egil" and op.action is Action.UPDATE):
        one["data"] = resource_body(spec, dict(op.attrs))
    return len(orjson.dumps(one)) + 1


async def naive(sb: ScimSandbox, target: ScimTarget, p: Plan, limit: int) -> float:
    """One request per change, in sequence, against an emptied service; extrapolated."""
    sb.clear()
    info = sb.info
    specs = PROFILES[target.profile]
    ids: dict[str, str] = {}
    async with httpx.AsyncClient(
        base_url=info.base_url,
        verify=ssl.create_default_context(cafile=info.ca_path),
        headers={"Authorization": f"Bearer {info.bearer_token}"},
    ) as client:

        async def send(op: Operation) -> None:
            if op.kind == GROUP_MEMBER:
                group, user = ids.get(op.parent or ""), ids.get(op.key)
                body = {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": user}]}],
                }
                await client.patch(f"/Groups/{group}", json=body)
            else:
                spec = specs[op.kind]
                made = await client.post(spec.endpoint, json=resource_body(spec, dict(op.attrs)))
                if made.status_code == 201:
                    ids[op.key] = made.json()["id"]

        timing = await naive_timing(p.operations, limit, send)
    sb.clear()
    return timing.extrapolated()


def by_request(sb: ScimSandbox) -> dict[str, int]:
    """Requests the service served, by method and endpoint."""
    out: dict[str, int] = defaultdict(int)
    for method, path, _ in sb.peer.counted.log:
        endpoint = "/" + path.strip("/").split("/")[0]
        out[f"{method} {endpoint}"] += 1
    return dict(sorted(out.items()))


def one(profile: str, bulk: bool, args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="ess-bench-scim-"))
    data = workdir / "data"
    day = date.today()
    SAMPLE.run(SampleRequest(out=data, size=args.size, seed=args.seed, as_of=day.isoformat()))
    settings = SandboxSettings(
        profile=profile, bulk=bulk, latency_ms=args.latency_ms, seed=args.seed
    )
    label = f"{profile}, {'with' if bulk else 'without'} Bulk"
    with ScimSandbox(settings=settings) as sb:
        os.environ[TOKEN_ENV] = sb.info.bearer_token
        bulk_max = settings.bulk_max_operations if bulk else 0
        # the minimum counts Bulk requests of the service's maxOperations; ESS sends them of
        # --bulk-size (its default, 100, unless told), within --timeout-s each
        config = write_config(workdir, sb, data, profile, args.bulk_size, args.timeout_s)
        with target_from(config, "scim", ScimTarget) as target:
            payload = settings.bulk_max_payload if bulk else 0
            measure(sb, config, target, data, day, label, (bulk_max, payload), args)


def measure(
    sb: ScimSandbox,
    config: Path,
    target: ScimTarget,
    data: Path,
    day: date,
    label: str,
    bulk: tuple[int, int],
    args: argparse.Namespace,
) -> None:
    """The first sync, the next-term sync and the naive client, for one profile and service
    (``bulk``: its Bulk maxOperations and maxPayloadSize, 0 without Bulk)."""
    profile = target.profile
    bulk_max, payload = bulk
    snap1 = snapshot_of(data, day)
    desired1 = target.desired(snap1)
    p1 = the_plan(target, desired1, ObservedState({}, {}))
    print(f"  {label}: first sync, {len(p1.operations)} changes")
    ess_s = asyncio.run(engine_sync(config, approve_held=True, indent="    ", counts=True))
    first = sb.stats().requests
    by_count = minimum_requests(p1, ObservedState({}, {}), profile, bulk_max)
    minimum = minimum_requests(p1, ObservedState({}, {}), profile, bulk_max, payload)
    print(
        f"    requests {first} / minimum {minimum} = {first / minimum:.3f}"
        f"  (Bulk requests {sb.stats().bulk_requests}; counting maxOperations alone, "
        f"the minimum would be {by_count}: {first / by_count:.3f})"
    )
    print(f"    by request: {by_request(sb)}; by status: {sb.stats().by_status}")
    SAMPLE.run(SampleRequest(out=data, advance="term"))
    snap2 = snapshot_of(data, day)
    before = mirror_of(desired1)
    p2 = the_plan(target, target.desired(snap2), before)
    sb.reset_stats()
    asyncio.run(engine_sync(config, approve_held=True, indent="    ", counts=True))
    second = sb.stats().requests
    by_count2 = minimum_requests(p2, before, profile, bulk_max)
    minimum2 = minimum_requests(p2, before, profile, bulk_max, payload)
    print(
        f"    next term: {len(p2.operations)} changes, requests {second} / minimum "
        f"{minimum2} = {second / max(1, minimum2):.3f}  (maxOperations alone: {by_count2})"
    )
    naive_s = asyncio.run(naive(sb, target, p1, args.naive_limit))
    print(f"    naive client {naive_s:.1f} s / ESS {ess_s:.1f} s = {naive_s / ess_s:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="medium", help="small, medium, large or a pupil count")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--naive-limit", type=int, default=3000)
    parser.add_argument("--profile", choices=("core", "egil"), action="append")
    parser.add_argument("--bulk", choices=("both", "on", "off"), default="both")
    parser.add_argument("--bulk-size", type=int, default=100, help="ESS's bulk_size")
    parser.add_argument("--timeout-s", type=float, default=30.0, help="ESS's timeout_s")
    args = parser.parse_args()
    print(f"sample {args.size}, latency {args.latency_ms} ms")
    variants = {"both": (True, False), "on": (True,), "off": (False,)}[args.bulk]
    for profile in args.profile or ("core", "egil"):
        for bulk in variants:
            one(profile, bulk, args)


if __name__ == "__main__":
    main()
