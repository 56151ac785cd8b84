"""Apply benchmark of the Google Workspace target against its sandbox at the published quotas.

A sample municipality (SS 12000 folder) is synced through the engine (``engine.ops``) into the
sandbox with 30 ms latency and Google's quotas (Classroom 1,200 calls a minute per admin and
3,000 per project, Directory 2,400 per admin; each call in a batch counts); then the sample
advances one term and is synced again. This is done with one admin subject and with three, each
against a fresh sandbox. For each run it prints:

* API calls issued (each call inside a batch counts) / the minimum the batching rules allow
  (goal <= 1.05), and the HTTP requests that carried them,
* the achieved Classroom call rate / the quota in force (1,200 a minute for one admin, 3,000
  for three: the project's), over the span in which Classroom calls were made (goal >= 0.9 for
  a run longer than one quota window),
* the share of calls answered 429 / 403 rate limit (goal <= 1%),
* the wall time of a naive client (one call per change, in sequence, one admin) / ESS's.
  The naive client is measured on up to ``--naive-limit`` changes and extrapolated at its
  measured pace, capped by the quota.

The sandbox's clock may run faster (``--time-scale``): every quota window, Retry-After and
latency is multiplied by it, and ESS is told the same quota window, so calls, ratios and the
429 share are those of the unscaled run and only wall times shrink. The sandbox runs in a
process of its own (``benchmarks/google_sandbox_process.py``), so that its work is not
counted as ESS's.

    .venv/bin/python benchmarks/apply_google.py --size small
    .venv/bin/python benchmarks/apply_google.py --size medium --time-scale 0.02
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from apply_harness import TENANT, CounterSampler, engine_sync, snapshot_of, the_plan

from adapters.google import calls
from adapters.google.calls import ApiCall
from adapters.google.client import GoogleClient
from adapters.google.sandbox import GoogleSandbox, SandboxSettings
from adapters.google.target import GoogleTarget
from adapters.ss12000.sample.command import SAMPLE
from engine.config import TenantPolicy, load
from engine.model import Snapshot
from engine.plan import Action, Operation, Plan
from engine.plugins import SampleRequest
from engine.secrets import SecretResolver
from engine.target import DesiredState, ObservedState
from engine.testing.mirror import mirror_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.google_sandbox_process import SandboxProcess

Sandbox = GoogleSandbox | SandboxProcess
KEY_ENV = "ESS_BENCH_GOOGLE_KEY"
PER_USER, PER_PROJECT = 1200, 3000  # Classroom calls a minute
DIRECTORY_PER_USER = 2400
USERS_PAGE, COURSES_PAGE, ROSTER_PAGE = 500, 500, 30  # what a list page holds (the defaults)


def write_config(workdir: Path, sb: Sandbox, data: Path, admins: int, scale: float) -> Path:
    info = sb.info
    subjects = ", ".join(f'"{s}"' for s in info.admin_subjects[:admins])
    text = f"""[journal]
path = "ess.db"

[tenants.{TENANT}]
source = {{ type = "ss12000", path = "{data}" }}

[tenants.{TENANT}.targets.google]
type = "google"
domain = "{info.domain}"
service_account_key = "env:{KEY_ENV}"
admin_subjects = [{subjects}]
root_url = "{info.root_url}"
batch_url = "{info.batch_url}"
verify = "{info.ca_path}"
quota_window_s = {60.0 * scale}
max_concurrency = 8

[tenants.{TENANT}.policy.guard]
objects = {{ share = 1.0, count = 1000000 }}
links = {{ share = 1.0, count = 1000000 }}
"""
    path = workdir / f"ess-{admins}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def minimum_writes(p: Plan) -> int:
    """One call per change (Google has no call that changes two objects or adds two members),
    but none for a new course's owner as its teacher, and one per org unit the accounts need
    that is not there yet."""
    units: set[str] = set()
    owners = {
        (op.key, str(dict(op.attrs)["owner"]))
        for op in p.operations
        if op.kind == "course" and op.action is Action.CREATE
    }
    # a course is created with its owner as a teacher: that link needs no call of its own
    free = sum(
        1
        for op in p.operations
        if op.kind == "course.teacher"
        and op.action is Action.LINK
        and (op.parent, op.key) in owners
    )
    for op in p.operations:
        if op.kind == "user" and op.action in (Action.CREATE, Action.UPDATE, Action.RESTORE):
            parts = [x for x in str(dict(op.attrs)["orgUnitPath"]).split("/") if x]
            units |= {"/" + "/".join(parts[:n]) for n in range(1, len(parts) + 1)}
    return len(p.operations) - free + len(units)


def minimum_reads(before: ObservedState, state: Mapping[str, Any], first: bool) -> int:
    """A first sync reads the org units once; a later one refreshes the mirror from Google:
    the accounts, the courses and the two rosters of each live course, each a paged list."""
    if first:
        return 1
    users = len(before.objects.get("user", {}))
    courses = [c for c in state["courses"] if c["courseState"] != "ARCHIVED"]
    reads = 1 + math.ceil(users / USERS_PAGE) + max(1, math.ceil(len(courses) / COURSES_PAGE))
    for c in courses:
        reads += max(1, math.ceil(len(c["teachers"]) / ROSTER_PAGE))
        reads += max(1, math.ceil(len(c["students"]) / ROSTER_PAGE))
    return reads


# ----- the naive client -----------------------------------------------------------------------


def naive_call(op: Operation, domain: str, emails: Mapping[str, str]) -> ApiCall:
    """The change as a naive client makes it: by address and alias, one call."""
    a = dict(op.attrs)
    if op.kind == "user":
        if op.action is Action.CREATE:
            return calls.insert_user(
                {
                    "primaryEmail": a["primaryEmail"],
                    "name": {"givenName": a["givenName"], "familyName": a["familyName"]},
                    "password": "Naive-Client-1",
                    "orgUnitPath": "/",
                    "externalIds": [{"type": "organization", "value": a["externalId"]}],
                }
            )
        return calls.patch_user(emails.get(op.key, op.key), {"suspended": True})
    if op.kind == "course":
        if op.action is Action.CREATE:
            return calls.create_course(
                {
                    "id": a["alias"],
                    "name": a["name"],
                    "section": a["section"],
                    "ownerId": emails[str(a["owner"])],
                    "courseState": "ACTIVE",
                }
            )
        return calls.patch_course(f"d:{op.key}", {"courseState": "ARCHIVED"})
    role = "teachers" if op.kind == "course.teacher" else "students"
    user = emails.get(op.key, f"{op.key}@{domain}")
    if op.action is Action.LINK:
        return calls.add_member(f"d:{op.parent}", role, user)  # type: ignore[arg-type]
    return calls.remove_member(f"d:{op.parent}", role, user)  # type: ignore[arg-type]


async def naive_pace(
    client: GoogleClient, p: Plan, domain: str, emails: Mapping[str, str], limit: int
) -> float:
    """Calls a second of a naive client: up to ``limit`` changes, one call at a time."""
    started = time.monotonic()
    done = 0
    for op in list(p.operations)[:limit]:
        await client.call(naive_call(op, domain, emails))
        done += 1
    return done / max(time.monotonic() - started, 1e-6)


def naive_seconds(directory: int, classroom: int, pace: float) -> float:
    """Unscaled seconds for a naive client at ``pace`` calls a second, each API's calls no
    faster than one admin's quota allows."""
    return directory / min(pace, DIRECTORY_PER_USER / 60.0) + classroom / min(pace, PER_USER / 60.0)


# ----- one measured run -----------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    calls: int
    writes: int
    minimum_writes: int
    minimum_reads: int
    http_requests: int
    classroom_calls: int
    span_s: float
    quota_per_s: float
    window_s: float
    throttled: int
    early: int
    wall_s: float
    naive_s: float = 0.0

    def show(self) -> None:
        minimum = self.minimum_writes + self.minimum_reads
        rate = self.classroom_calls / self.span_s if self.span_s else 0.0
        print(f"\n{self.name}")
        print(
            f"  API calls issued             {self.calls} ({self.writes} writes, "
            f"{self.calls - self.writes} reads)"
        )
        print(
            f"  minimum by batching rules    {minimum} ({self.minimum_writes} writes, "
            f"{self.minimum_reads} reads)"
        )
        print(f"  calls / minimum              {self.calls / max(minimum, 1):.3f}   (goal <= 1.05)")
        print(f"  HTTP requests                {self.http_requests}")
        print(
            f"  Classroom call rate          {rate:.1f}/s over {self.span_s:.1f} s; / quota "
            f"{self.quota_per_s:.1f}/s = {rate / self.quota_per_s:.2f}   (goal >= 0.9)"
        )
        if self.span_s < self.window_s:
            print(
                f"    (the Classroom calls fit in one quota window of {self.window_s:.1f} s: "
                "the quota does not bind this run)"
            )
        print(
            f"  calls answered 429/403 quota {self.throttled} of {self.calls} = "
            f"{100 * self.throttled / max(self.calls, 1):.2f}%   (goal <= 1%)"
        )
        print(f"  sent before Retry-After      {self.early}")
        print(f"  ESS wall time                {self.wall_s:.1f} s")
        if self.naive_s:
            print(
                f"  naive client wall time       {self.naive_s:.1f} s  "
                f"(ratio naive / ESS = {self.naive_s / max(self.wall_s, 0.001):.1f})"
            )


async def measure(
    name: str,
    sb: Sandbox,
    config: Path,
    target: GoogleTarget,
    snap: Snapshot,
    before: ObservedState,
    admins: int,
    scale: float,
) -> tuple[Figures, DesiredState, Plan]:
    desired = target.desired(snap)
    p = the_plan(target, desired, before)
    print(f"{name} ({admins} admin subject(s)): {len(p)} operations planned")
    reads = minimum_reads(before, sb.state(), first=not before.objects)
    sb.reset_stats()
    with CounterSampler(lambda: sb.stats().classroom_calls, 0.05) as sampler:
        wall = await engine_sync(config)
    stats = sb.stats()
    window = 60.0 * scale
    quota = min(PER_USER * admins, PER_PROJECT) / window
    figures = Figures(
        f"{name}, {admins} admin subject(s)",
        stats.calls,
        stats.write_calls,
        minimum_writes(p),
        reads,
        stats.http_requests,
        stats.classroom_calls,
        sampler.span,
        quota,
        window,
        stats.throttled,
        stats.early_retries,
        wall,
    )
    return figures, desired, p


def sandbox_settings(args: argparse.Namespace) -> SandboxSettings:
    return SandboxSettings(
        latency_ms=args.latency_ms,
        classroom_per_user_per_min=PER_USER,
        classroom_per_project_per_min=PER_PROJECT,
        time_scale=args.time_scale,
        seed=args.seed,
    )


def sandbox(args: argparse.Namespace, settings: SandboxSettings) -> Sandbox:
    """The sandbox in a process of its own (the default), or in a thread of this one."""
    if args.sandbox_in_process:
        return GoogleSandbox(settings=settings)
    return SandboxProcess(settings)


def run_pair(args: argparse.Namespace, data: Path, workdir: Path, admins: int) -> list[Figures]:
    """First and next-term sync with ``admins`` admin subjects on a fresh sandbox and a fresh
    copy of the sample."""
    day = date.today()
    out: list[Figures] = []
    SAMPLE.run(SampleRequest(out=data, size=args.size, seed=args.seed, as_of=day.isoformat()))
    with sandbox(args, sandbox_settings(args)) as sb:
        os.environ[KEY_ENV] = Path(sb.info.key_file).read_text(encoding="utf-8")
        config = write_config(workdir, sb, data, admins, args.time_scale)
        cfg = load(config)
        tenant = cfg.tenant(TENANT)
        target = GoogleTarget.from_config(
            "google", dict(tenant.targets["google"]), tenant.policy, cfg.secrets()
        )
        try:
            snap1 = snapshot_of(data, day)
            first, desired1, p1 = asyncio.run(
                measure(
                    "first sync",
                    sb,
                    config,
                    target,
                    snap1,
                    ObservedState({}, {}),
                    admins,
                    args.time_scale,
                )
            )
            out.append(first)
            SAMPLE.run(SampleRequest(out=data, advance="term"))
            snap2 = snapshot_of(data, day)
            before = mirror_of(desired1)
            second, _, p2 = asyncio.run(
                measure(
                    "next-term sync", sb, config, target, snap2, before, admins, args.time_scale
                )
            )
            out.append(second)
            if admins == min(int(n) for n in args.admins.split(",")):
                emails = {
                    k: str(dict(o.attrs)["primaryEmail"])
                    for k, o in desired1.objects["user"].items()
                }
                first.naive_s, second.naive_s = naive_times(
                    args, p1, p2, emails, second.minimum_reads
                )
        finally:
            asyncio.run(target.aclose())
    return out


def naive_times(
    args: argparse.Namespace, p1: Plan, p2: Plan, emails: Mapping[str, str], reads: int
) -> tuple[float, float]:
    """The naive client's wall time for each run, on the benchmark's clock. Its pace is
    measured on a sandbox of its own on the real clock (30 ms latency, unscaled: at a fast
    clock the sandbox's own work, which no scale shrinks, would weigh on it more than on
    Google), then each run's calls are timed at that pace, each API under one admin's quota,
    and scaled like the rest."""

    async def go(sb: Sandbox) -> float:
        settings = {
            "type": "google",
            "domain": sb.info.domain,
            "service_account_key": f"env:{KEY_ENV}_NAIVE",
            "admin_subjects": [sb.info.admin_subjects[0]],
            "root_url": sb.info.root_url,
            "batch_url": sb.info.batch_url,
            "verify": sb.info.ca_path,
        }
        target = GoogleTarget.from_config("google", settings, TenantPolicy(), SecretResolver())
        try:
            # the naive client puts accounts in / : it needs no org unit
            return await naive_pace(target.client, p1, sb.info.domain, emails, args.naive_limit)
        finally:
            await target.aclose()

    real = replace(sandbox_settings(args), time_scale=1.0)
    with sandbox(args, real) as sb:
        os.environ[KEY_ENV + "_NAIVE"] = Path(sb.info.key_file).read_text(encoding="utf-8")
        pace = asyncio.run(go(sb))
    print(f"  naive client: {pace:.1f} calls/s on the real clock (one call at a time)")

    def split(p: Plan) -> tuple[int, int]:
        directory = sum(1 for op in p.operations if op.kind == "user")
        return directory, len(p.operations) - directory

    d1, c1 = split(p1)
    d2, c2 = split(p2)
    # a naive client needs the same reads to know what changed: the rosters are Classroom's
    first = naive_seconds(d1, c1, pace) * args.time_scale
    second = naive_seconds(d2, c2 + reads, pace) * args.time_scale
    return first, second


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--size", default="medium", help="small, medium, large or a pupil count")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.05,
        help="the sandbox's clock: every quota window, Retry-After and latency times this",
    )
    parser.add_argument(
        "--naive-limit",
        type=int,
        default=500,
        help="changes the naive client really sends to measure its pace",
    )
    parser.add_argument("--admins", default="1,3", help="admin subject counts to run with")
    parser.add_argument(
        "--sandbox-in-process",
        action="store_true",
        help="serve the sandbox from a thread of this process, not a process of its own",
    )
    args = parser.parse_args()
    print(
        f"time scale {args.time_scale}: a 60 s quota window lasts {60 * args.time_scale:.1f} s, "
        f"{args.latency_ms:.0f} ms latency {args.latency_ms * args.time_scale:.1f} ms"
    )
    workdir = Path(tempfile.mkdtemp(prefix="ess-bench-google-"))
    naive: list[float] = []
    for admins in sorted(int(n) for n in args.admins.split(",")):
        here = workdir / f"admins-{admins}"
        here.mkdir()
        pair = run_pair(args, here / "data", here, admins)
        naive = naive or [f.naive_s for f in pair]  # the naive client has one admin
        for figures, seconds in zip(pair, naive, strict=False):
            figures.naive_s = seconds
            figures.show()
        print(
            "  (the naive next-term time is estimated from its measured pace, with the reads "
            "it needs to know what changed)"
        )


if __name__ == "__main__":
    main()
