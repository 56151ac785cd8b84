"""The mirror a complete, faultless run would leave: for benchmarks and tests that need a
target "already in step" without running a sync first."""

from __future__ import annotations

from engine.target import DesiredState, MirrorObject, ObservedState


def mirror_of(desired: DesiredState) -> ObservedState:
    """Every desired object and link there, each object with a made-up target id."""
    objects = {
        kind: {
            key: MirrorObject(kind, key, f"t-{kind}-{key}", d.fingerprint, d.attrs, label=d.label)
            for key, d in table.items()
        }
        for kind, table in desired.objects.items()
    }
    return ObservedState(objects, dict(desired.links))
