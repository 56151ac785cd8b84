"""A sample dataset in memory and on disk (a "dump": one saved API page per endpoint).

On disk a dump is a folder with ``manifest.json``, one ``{"data": [...], "pageToken": null}``
page per entity and ``deletions.json`` (what ``/deletedEntities`` would answer). The objects are
plain SS 12000 JSON as served; objects may share nested reference dicts, so treat them as
read-only and copy before changing one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from adapters.ss12000.sample.build import bulk

ENTITIES: tuple[str, ...] = ("organisations", "persons", "duties", "groups", "activities")
FORMAT = "ess-ss12000-sample"
VERSION = 1
MANIFEST = "manifest.json"
DELETIONS = "deletions.json"


class SampleDataError(ValueError):
    """A dump that cannot be read; the message names the file and the problem."""


@dataclass
class Deletion:
    """One entry of /deletedEntities: which object went, and when (aware UTC)."""

    entity: str
    id: str
    deleted_at: datetime


@dataclass
class Manifest:
    """Where a dataset came from; generation 0 is fresh and each advance adds one."""

    seed: int
    size: str
    as_of: date
    generation: int


@dataclass
class Dataset:
    """SS 12000 objects per endpoint name, the deletions so far, and the manifest."""

    entities: dict[str, list[dict[str, Any]]]
    deletions: list[Deletion]
    manifest: Manifest

    def counts(self) -> dict[str, int]:
        """Objects per entity, plus group memberships and deletions, for summaries."""
        out = {name: len(self.entities.get(name, ())) for name in ENTITIES}
        out["memberships"] = sum(
            len(g.get("groupMemberships") or ()) for g in self.entities.get("groups", ())
        )
        out["deletions"] = len(self.deletions)
        return out


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write_dataset(ds: Dataset, out: Path) -> None:
    """Write the dump; the same dataset always gives the same bytes. The manifest goes last."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ENTITIES:
        _write(out / f"{name}.json", {"data": ds.entities.get(name, []), "pageToken": None})
    _write(
        out / DELETIONS,
        [
            {"entity": d.entity, "id": d.id, "deletedAt": format_time(d.deleted_at)}
            for d in ds.deletions
        ],
    )
    m = ds.manifest
    _write(
        out / MANIFEST,
        {
            "format": FORMAT,
            "version": VERSION,
            "seed": m.seed,
            "size": m.size,
            "asOf": m.as_of.isoformat(),
            "generation": m.generation,
        },
    )


def _write(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(orjson.dumps(value))
    os.replace(tmp, path)


def read_dataset(path: Path) -> Dataset:
    """Read a dump written by :func:`write_dataset` (or saved API pages with a manifest)."""
    if not path.is_dir():
        raise SampleDataError(f"{path}: not a folder holding an SS 12000 sample")
    manifest = _read_manifest(path / MANIFEST)
    with bulk():
        entities = {name: _read_page(path / f"{name}.json") for name in ENTITIES}
    deletions_file = path / DELETIONS
    deletions = _read_deletions(deletions_file) if deletions_file.exists() else []
    return Dataset(entities=entities, deletions=deletions, manifest=manifest)


def _load(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SampleDataError(f"{path}: file is missing") from None
    except OSError as exc:
        raise SampleDataError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SampleDataError(f"{path}: not valid JSON ({exc})") from None


def _read_manifest(path: Path) -> Manifest:
    doc = _load(path)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SampleDataError(f"{path}: not an {FORMAT} manifest (format must be {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise SampleDataError(f"{path}: version {doc.get('version')!r} is not supported")
    seed, size, as_of, generation = (doc.get(k) for k in ("seed", "size", "asOf", "generation"))
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SampleDataError(f"{path}: seed must be an integer")
    if not isinstance(size, str):
        raise SampleDataError(f"{path}: size must be a string")
    if not isinstance(generation, int) or isinstance(generation, bool) or generation < 0:
        raise SampleDataError(f"{path}: generation must be a whole number >= 0")
    try:
        day = date.fromisoformat(as_of) if isinstance(as_of, str) else None
    except ValueError:
        day = None
    if day is None:
        raise SampleDataError(f"{path}: asOf must be a date like 2025-09-01")
    return Manifest(seed=seed, size=size, as_of=day, generation=generation)


def _read_page(path: Path) -> list[dict[str, Any]]:
    doc = _load(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise SampleDataError(f"{path}: expected an API page {{'data': [...], 'pageToken': null}}")
    if doc.get("pageToken") is not None:
        raise SampleDataError(f"{path}: pageToken is set, so the page is not the last one")
    data: list[dict[str, Any]] = doc["data"]
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise SampleDataError(f"{path}: data[{i}] is not an object with a string id")
    return data


def _read_deletions(path: Path) -> list[Deletion]:
    doc = _load(path)
    if not isinstance(doc, list):
        raise SampleDataError(f"{path}: expected a list of deletions")
    out: list[Deletion] = []
    for i, item in enumerate(doc):
        entity = item.get("entity") if isinstance(item, dict) else None
        ident = item.get("id") if isinstance(item, dict) else None
        when = item.get("deletedAt") if isinstance(item, dict) else None
        if entity not in ENTITIES or not isinstance(ident, str) or not isinstance(when, str):
            raise SampleDataError(
                f"{path}: entry {i} needs entity (one of {', '.join(ENTITIES)}), id and deletedAt"
            )
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise SampleDataError(f"{path}: entry {i} deletedAt is not an RFC 3339 time with zone")
        out.append(Deletion(entity=entity, id=ident, deleted_at=moment.astimezone(UTC)))
    return out
