"""``ess source rekey``: a tenant moves from one source to another without its targets noticing.

The old source (``[tenants.NAME.rekey] from``) and the new one (the tenant's source or sources)
name the same pupils, schools and classes with different ids. Both are read; each old record is
matched to a new one by the configured keys (:mod:`engine.matching`); and every journal row
keyed by an old id (the mirror and its links, open items, skips, the index) moves to the new id
in one transaction, so the next run finds every object where it was and plans no removal and
no create for it. What cannot be matched (no new record shares a key, or two do) is a finding
and a **hold**: no run removes its objects until an operator releases it
(``ess source release``). A dry run shows the mapping and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from engine import runner
from engine.civic_hash import CivicHash
from engine.config import LoadedConfig, MatchKeys, TenantConfig
from engine.findings import Finding, Severity
from engine.journal import Journal, KeyMoves
from engine.matching import Key, Matched, group_keys, match, person_keys, school_keys
from engine.merge import Merged
from engine.model import Snapshot
from engine.redact import person_label
from engine.source import CachedSource, SourceContext
from engine.target import Target

RECORD_TYPES = ("school", "person", "group")


class RekeyError(Exception):
    """A rekey that cannot be done as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Unmatched:
    """An old record that keeps its old id: ``unmatched`` (no new record shares a key),
    ``ambiguous`` (its keys lead to several new records, or several old records lead to the
    same new one) or ``clash`` (its old id is a new record's id too)."""

    record_type: str
    old_id: str
    label: str
    reason: str
    candidates: int = 0

    def finding(self) -> Finding:
        what = {
            "unmatched": "no record of the new source shares a match key with it",
            "ambiguous": (
                f"its match keys lead to {self.candidates} records of the new source, or "
                "another old record leads to the same one"
            ),
            "clash": "the new source uses its id for another record",
        }[self.reason]
        fix = {
            "unmatched": "Add the personnummer, eppn, e-mail or code to the record in the new "
            "source, or release the hold once the record has truly left.",
            "ambiguous": "Correct the duplicate match keys in the new source.",
            "clash": "Ask the supplier of the new source why its ids repeat the old source's.",
        }[self.reason]
        return Finding(
            f"rekey.{self.reason}",
            Severity.BLOCKING if self.reason == "clash" else Severity.WARNING,
            self.record_type,
            self.old_id,
            f"{self.record_type} {self.label} keeps its old id: {what}; its objects are held, "
            "nothing removes them",
            fix,
            "rekey",
        )


@dataclass(frozen=True)
class IdMap:
    """What matching the old snapshot to the new found, per record type."""

    ids: Mapping[str, Mapping[str, str]]  # record type -> old id -> new id (ids that change)
    matched: Mapping[str, int]  # per record type: old records matched (same id included)
    new_only: Mapping[str, int]  # per record type: new records no old record matched
    unmatched: tuple[Unmatched, ...]

    @property
    def clashes(self) -> tuple[Unmatched, ...]:
        return tuple(u for u in self.unmatched if u.reason == "clash")


def map_ids(old: Snapshot, new: Snapshot, keys: MatchKeys, protected_identity: str) -> IdMap:
    """Match every old school, person and group to the new source's, by ``keys``."""
    old_keys = {
        "school": {i: school_keys(s, keys.schools) for i, s in old.schools.items()},
        "person": {i: person_keys(p, keys.persons) for i, p in old.persons.items()},
        "group": {i: group_keys(g, old.schools, keys.groups) for i, g in old.groups.items()},
    }
    new_keys = {
        "school": {i: school_keys(s, keys.schools) for i, s in new.schools.items()},
        "person": {i: person_keys(p, keys.persons) for i, p in new.persons.items()},
        "group": {i: group_keys(g, new.schools, keys.groups) for i, g in new.groups.items()},
    }
    results: dict[str, Matched] = {t: match(old_keys[t], new_keys[t]) for t in RECORD_TYPES}

    def label(rtype: str, rid: str) -> str:
        if rtype == "person":
            return person_label(old.persons[rid], protected_identity)
        record = old.schools[rid] if rtype == "school" else old.groups[rid]
        return record.name

    ids: dict[str, dict[str, str]] = {}
    matched: dict[str, int] = {}
    new_only: dict[str, int] = {}
    unmatched: list[Unmatched] = []
    for rtype, m in results.items():
        pairs = dict(m.pairs)
        taken = set(pairs.values())
        reasons = {o: "unmatched" for o in m.unmatched}
        reasons.update({o: "ambiguous" for o in m.ambiguous})
        # an old id the new source also has: the same record when no key says otherwise
        # (sources that share ids); else a clash, as the next run would give the old
        # record's objects to another record
        for o in sorted(set(reasons) & set(new_keys[rtype])):
            if o not in taken and not _contradict(old_keys[rtype][o], new_keys[rtype][o]):
                pairs[o] = o
                taken.add(o)
                del reasons[o]
            else:
                reasons[o] = "clash"
        ids[rtype] = {o: n for o, n in pairs.items() if o != n}
        matched[rtype] = len(pairs)
        new_only[rtype] = len(set(new_keys[rtype]) - taken)
        unmatched.extend(
            Unmatched(rtype, o, label(rtype, o), reason, len(m.ambiguous.get(o, ())))
            for o, reason in sorted(reasons.items())
        )
    return IdMap(ids, matched, new_only, tuple(unmatched))


def _contradict(a: frozenset[Key], b: frozenset[Key]) -> bool:
    """True when the two records both have a key of some kind and share none of that kind."""
    kinds = {k for k, _ in a} & {k for k, _ in b}
    return any(not ({x for x in a if x[0] == k} & {x for x in b if x[0] == k}) for k in kinds)


def key_moves(mapping: IdMap, targets: Mapping[str, Target], caches: Iterable[str]) -> KeyMoves:
    """The journal's moves: which record type each target's kinds stand for, the ids, the
    holds (every record kept under its old id) and the source caches to empty."""
    kinds: dict[str, dict[str, str]] = {}
    parents: dict[str, dict[str, str]] = {}
    for name, target in targets.items():
        kinds[name] = dict(target.record_types)
        parents[name] = {
            spec.name: rtype
            for spec in target.links
            if (rtype := target.record_types.get(spec.parent_kind)) is not None
        }
    holds = tuple(
        (u.record_type, u.old_id, u.finding().message)
        for u in mapping.unmatched
        if u.reason != "clash"
    )
    return KeyMoves(kinds, parents, mapping.ids, holds, tuple(caches))


class NoCache:
    """A source cache that keeps nothing: both sides of a rekey are read whole, and the
    journal's caches are left for the run after it."""

    async def load(self) -> CachedSource:
        return CachedSource({}, None, None)

    async def save(self, **_: object) -> None:
        return None


def context(tenant_id: str, today: date, civic_hash: CivicHash) -> SourceContext:
    return SourceContext(tenant=tenant_id, cache=NoCache(), today=today, civic_hash=civic_hash)


@dataclass(frozen=True)
class Outcome:
    """A rekey's mapping and, after a real one, the journal rows it moved."""

    mapping: IdMap
    moved: Mapping[str, int]
    old_counts: Mapping[str, int]
    new_counts: Mapping[str, int]


async def rekey(
    journal: Journal,
    cfg: LoadedConfig,
    tenant_id: str,
    tenant: TenantConfig,
    *,
    actor: str,
    dry_run: bool,
) -> Outcome:
    """Read both sources, match them and (unless ``dry_run``) move the journal's ids.

    Takes the tenant's lease, so no run plans against half-moved ids."""
    if tenant.rekey is None:
        raise RekeyError(
            f"tenant {tenant_id} has no [tenants.{tenant_id}.rekey] table: name the source it "
            f'moves from there (from = {{ type = "ims", path = "..." }}) and run again'
        )
    civic_hash = cfg.civic_hash()
    today = datetime.now(UTC).date()
    lease = await runner.take_lease(journal, tenant_id, actor)
    try:
        old_source = runner.build_source_table(
            cfg, f"tenants.{tenant_id}.rekey.from", tenant.rekey.previous
        )
        try:
            old = await old_source.read(context(tenant_id, today, civic_hash), full=True)
        finally:
            await old_source.aclose()
        sources = await runner.build_sources(cfg, tenant_id, tenant)
        try:
            new: Merged = await runner.read_sources(
                sources,
                tenant,
                lambda _: context(tenant_id, today, civic_hash),
                full=True,
                today=today,
            )
        finally:
            await runner.close_sources(sources)
        if new.failed:
            raise RekeyError(
                f"the new source(s) {', '.join(new.failed)} could not be read; a rekey needs "
                "every record of the new side"
            )
        mapping = map_ids(
            old.snapshot, new.snapshot, tenant.rekey.match, tenant.policy.protected_identity
        )
        moved: dict[str, int] = {}
        if not dry_run:
            if mapping.clashes:
                raise RekeyError(
                    f"{len(mapping.clashes)} id(s) of the old source are used by the new "
                    "source for other records (see the dry run); nothing was moved"
                )
            targets: dict[str, Target] = {}
            try:
                for name in tenant.targets:
                    targets[name] = runner.build_target(cfg, tenant_id, tenant, name)
                caches = [runner.cache_scope(tenant_id, k) for k in ("", *tenant.sources)]
                moved = await _move(journal, tenant_id, mapping, targets, caches, actor)
            finally:
                for t in targets.values():
                    await t.aclose()
        return Outcome(mapping, moved, old.snapshot.counts(), new.snapshot.counts())
    finally:
        await journal.release_lease(lease)


async def _move(
    journal: Journal,
    tenant_id: str,
    mapping: IdMap,
    targets: Mapping[str, Target],
    caches: Iterable[str],
    actor: str,
) -> dict[str, int]:
    """The targets' own keys first (most keep none), then the journal in one transaction;
    when the journal refuses, the targets' keys are moved back."""
    done: list[Target] = []
    try:
        for target in targets.values():
            await target.move_keys(mapping.ids)
            done.append(target)
        return await journal.move_source_ids(tenant_id, key_moves(mapping, targets, caches), actor)
    except BaseException:
        back = {t: {new: old for old, new in ids.items()} for t, ids in mapping.ids.items()}
        for target in done:
            await target.move_keys(back)
        raise
