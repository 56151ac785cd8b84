"""``person forget`` inside the source caches: a source that keeps whole documents (not a row
per person) removes one person from them through its declared hook, and the engine refuses
to forget while any cache of the tenant still names the person's id outside its person rows.

A cache row per person is removed by the source itself (the person left, the read dropped
their row). Documents are different: a complete export read once and the deltas after it
keep a leaver's record, and the delete that removed them, for as long as they are kept. Only
the source knows their form, so it says what they become without the person
(:class:`ForgetsInCache`); the engine checks the result and writes it only once the journal's
own forget has gone through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine import plugins, runner
from engine.config import TenantConfig
from engine.journal import Journal
from engine.source import ForgetsInCache

PERSON_ENTITIES = ("persons", "users")  # rows the journal's own forget check reads by id


@dataclass(frozen=True)
class CacheRewrite:
    """One cache to rewrite once the journal's forget has gone through."""

    scope: str
    upserts: Mapping[str, Mapping[str, bytes]]
    checkpoint: str

    @property
    def records(self) -> int:
        return sum(len(r) for r in self.upserts.values())


@dataclass(frozen=True)
class CachePlan:
    rewrites: tuple[CacheRewrite, ...] = ()
    held: str = ""


async def plan_cache_forget(
    journal: Journal, tenant_id: str, tenant: TenantConfig, key: str
) -> CachePlan:
    """What each of the tenant's source caches must become for ``key`` to be gone from it,
    or why it cannot be (nothing is written here)."""
    rewrites: list[CacheRewrite] = []
    needle = key.encode()
    for source_key, settings in tenant.source_tables().items():
        scope = runner.cache_scope(tenant_id, source_key)
        cached = await journal.load_source(scope)
        if not cached.records:
            continue
        records = {e: dict(r) for e, r in cached.records.items()}
        named = f"the source {source_key}" if source_key else "the source"
        try:
            cls = plugins.load("ess.sources", str(settings.get("type", "")))
        except plugins.PluginError:  # not installed: its cache is checked as any other
            cls = None
        if isinstance(cls, type) and hasattr(cls, "forget_cached"):
            hook: ForgetsInCache = cls  # type: ignore[assignment]
            outcome = hook.forget_cached(records, key)
            if outcome.held:
                return CachePlan(held=f"{named}: {outcome.held}")
            if outcome.upserts:
                for entity, bodies in outcome.upserts.items():
                    records.setdefault(entity, {}).update(bodies)
                rewrites.append(CacheRewrite(scope, outcome.upserts, cached.checkpoint or ""))
        if any(
            key in records.get(entity, {}) or any(needle in b for b in records[entity].values())
            for entity in PERSON_ENTITIES
            if entity in records
        ):
            continue  # the source still lists them: the journal's own check says so
        for entity, bodies in records.items():
            if any(needle in body for body in bodies.values()):
                return CachePlan(
                    held=f"{named} keeps {entity} records that still name them, "
                    "and it cannot remove one person from them"
                )
    return CachePlan(tuple(rewrites))


async def write_cache_forget(journal: Journal, plan: CachePlan) -> int:
    """Write the rewritten caches (their checkpoints kept); returns the records rewritten."""
    for rw in plan.rewrites:
        await journal.save_source(
            rw.scope, upserts=rw.upserts, deletes={}, checkpoint=rw.checkpoint, full=False
        )
    return sum(rw.records for rw in plan.rewrites)
