"""What a run holds when one of a tenant's several sources could not be read.

A source that fails contributes nothing to the merged snapshot, so everything it owns looks
gone. Its records cannot be told from records that left, so their removal is held; the other
sources' leavers are removed as usual. What a source owns is what it brought to the last
complete merge (the journal keeps it with the source aliases): its schools, the groups at them
and the persons it listed. A record is removed only when every source that brought it was read
in this run and none lists it now; a record that no complete merge attributed to a source (made
while a source was failing, or known from before ESS kept owners) is held too: bad data, or no
data, never causes a removal.

A person in two sources is owned by both, so the failure of either holds the person's removal:
the failed one may list them still. A person the healthy source still lists is not held (it is
not removed anyway), so their memberships in the healthy source's groups follow that source;
their memberships in the failed source's groups are held with those groups, as a link is
never removed under a held parent or to a held child (:func:`engine.planner.plan`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from engine.findings import Finding, Severity
from engine.target import DesiredState, KindSpec, ObservedState

Owners = Mapping[str, Mapping[str, Collection[str]]]
"""source key -> record type (``school``, ``person``, ``group``) -> merged ids it brought"""


@dataclass(frozen=True)
class FailedSources:
    """The sources that failed in a run and, per record type, the ids whose removal is safe:
    brought to the last complete merge by sources read in this run only."""

    failed: tuple[str, ...]
    safe: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, failed: Iterable[str], owners: Owners) -> FailedSources:
        down = tuple(failed)
        healthy: dict[str, set[str]] = {}
        held: dict[str, set[str]] = {}
        for source, by_type in owners.items():
            into = held if source in down else healthy
            for rtype, ids in by_type.items():
                into.setdefault(rtype, set()).update(ids)
        safe = {t: frozenset(ids - held.get(t, set())) for t, ids in healthy.items()}
        return cls(down, safe)

    def held(
        self,
        kinds: Iterable[KindSpec],
        record_types: Mapping[str, str],
        desired: DesiredState,
        observed: ObservedState,
    ) -> dict[str, frozenset[str]]:
        """Per object kind, the keys the target holds that the desired state lacks and whose
        removal is not safe. A kind that stands for no source record is held whole."""
        out: dict[str, frozenset[str]] = {}
        for spec in kinds:
            have = observed.objects.get(spec.name, {})
            want = desired.objects.get(spec.name, {})
            rtype = record_types.get(spec.name)
            safe = self.safe.get(rtype, frozenset()) if rtype else frozenset()
            keys = frozenset(k for k in have if k not in want and k not in safe)
            if keys:
                out[spec.name] = keys
        return out

    def finding(self, target: str, held: Mapping[str, Collection[str]]) -> Finding:
        """One finding per target, so the run's findings say what the failure held."""
        sources = ", ".join(self.failed)
        counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(held.items()))
        return Finding(
            "merge.removals_held",
            Severity.WARNING,
            "source",
            sources,
            f"{target}: the removal of {counts} is held, as the source(s) {sources} that "
            "owned them could not be read; the other sources' removals go ahead",
            "Fix the source named; the next run that reads it removes what truly left.",
            "merge",
        )
