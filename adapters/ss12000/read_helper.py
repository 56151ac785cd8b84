"""Reading the largest entity of a large folder in a second process, while this one reads
the rest.

A large municipality's folder holds 370 MB of JSON. Its groups (two thirds of the bytes: every
membership) take about two seconds to decode and map, the other entities together about as
long, and until :meth:`Collector.finish` no entity needs another. So on a machine with a second
CPU a helper process reads the largest entity with a collector of its own and hands back what it
gathered (a :class:`~adapters.ss12000.mapping.CollectorPart`), which this process's collector
takes in place of reading that entity (:meth:`~adapters.ss12000.mapping.Collector.absorb`).
The snapshot is the same as a read in one process, findings in the same order.

The part travels pickled over the helper's stdout. Pickle writes an object it has written
before as a short back-reference, and the helper's ids are interned, so each person id is
written once however many groups name it: two million memberships come to about 20 MB and a
tenth of a second to load. Pickle can run code of the stream's choosing, so it is only ever
read from this process's own helper, never from anything outside.

The helper is this module run with the same interpreter (``python -m
adapters.ss12000.read_helper``), not a :mod:`multiprocessing` process: that would first import
the caller's main module (the CLI with its console) in the child. It is told what to read as
JSON in its one argument (a folder, an entity, a date: nothing secret).

A helper that fails for a reason other than the pages themselves (it cannot start, it runs out
of memory, it is killed, its answer is cut short) does not fail the read: the caller reads the
entity itself and the run log says why. A problem with a page is the same :class:`SourceError`
a read in one process raises.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from adapters.ss12000.folder import entity_files, entity_pages
from adapters.ss12000.mapping import Collector, CollectorPart
from adapters.ss12000.pages import scrub
from adapters.ss12000.vocabulary import ENTITIES
from engine.source import SourceError

MIN_BYTES = 32 * 2**20
"""An entity smaller than this is read in this process: starting a helper (about 0.15 s) and
taking in its answer would cost more than it saves."""

TIMEOUT_S = 600.0
"""How long the caller waits for the helper once its own part is read, before it gives up on
it and reads the entity itself."""

_MODULE = "adapters.ss12000.read_helper"


@dataclass(frozen=True)
class HelperSettings:
    """When a folder read uses a helper, and which interpreter runs it (tests change these to
    use a helper on small data, or one that fails)."""

    min_bytes: int = MIN_BYTES
    cpus: int | None = None  # None: the CPUs this process may use
    python: str = sys.executable
    entity: str | None = None  # None: the largest; else this one, whatever its size


class HelperFailed(Exception):
    """The helper did not deliver (the message says how); the caller reads the entity itself."""


@dataclass(frozen=True)
class EntityRead:
    """One entity read by a collector of its own: what it gathered, and the pages it took."""

    part: CollectorPart
    pages: int
    peak_mb: int  # the reading process's peak memory (resident), for the benchmarks


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity, where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def helper_entity(root: Path, settings: HelperSettings) -> str | None:
    """The entity worth a helper: the largest on disk, when it has ``min_bytes`` and a second
    CPU is there to read it; None when the whole folder is best read here."""
    if (usable_cpus() if settings.cpus is None else settings.cpus) < 2:
        return None
    if settings.entity is not None:
        return settings.entity
    sizes = {e: sum(p.stat().st_size for p in entity_files(root, e)) for e in ENTITIES}
    largest = max(ENTITIES, key=sizes.__getitem__)
    return largest if sizes[largest] >= settings.min_bytes else None


def add_pages(root: Path, entity: str, collector: Collector) -> int:
    """Every page of one entity into ``collector``; returns how many pages there were. A bad
    page is a :class:`SourceError` naming its file."""
    pages = 0
    for where, records in entity_pages(root, entity):
        collector.add_all(entity, records, where)
        pages += 1
    return pages


def read_entity(root: Path, entity: str, collector: Collector) -> EntityRead:
    """Every page of one entity into a collector given nothing else, and what it gathered."""
    pages = add_pages(root, entity, collector)
    return EntityRead(collector.part((entity,)), pages, _peak_mb())


def _peak_mb() -> int:
    """This process's peak resident memory in MB; 0 where the system does not tell."""
    try:
        import resource
    except ImportError:  # Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, bytes on macOS
    return peak // (2**20 if sys.platform == "darwin" else 1024)


class ReadHelper:
    """A running helper process reading one entity of a folder."""

    def __init__(self, process: subprocess.Popen[bytes], entity: str) -> None:
        self._process = process
        self.entity = entity

    @classmethod
    def start(
        cls,
        root: Path,
        entity: str,
        today: date,
        *,
        activity_name_is_subject: bool = False,
        python: str = sys.executable,
    ) -> ReadHelper:
        """Start reading ``entity`` of ``root``; :class:`HelperFailed` when no process starts."""
        request = {
            "folder": str(root),
            "entity": entity,
            "today": today.isoformat(),
            "activity_name_is_subject": activity_name_is_subject,
        }
        here = str(Path(__file__).resolve().parents[2])  # the folder that holds adapters/
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        try:
            process = subprocess.Popen(
                [python, "-m", _MODULE, orjson.dumps(request).decode()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            raise HelperFailed(f"the read helper could not start ({exc.strerror})") from None
        return cls(process, entity)

    def result(self, timeout_s: float = TIMEOUT_S) -> EntityRead:
        """The helper's read: :class:`SourceError` for a bad page, :class:`HelperFailed` when
        the helper itself failed."""
        process = self._process
        try:
            out, err = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            raise HelperFailed(f"the read helper gave no answer in {timeout_s:.0f} s") from None
        answer: Any = None
        if process.returncode == 0:
            try:
                answer = pickle.loads(out)  # our own child's answer, never outside data
            except Exception:  # any damage to the stream means the same
                answer = None
        if type(answer) is tuple and len(answer) == 2:
            if answer[0] == "source_error":
                raise SourceError(str(answer[1]))
            if answer[0] == "done" and type(answer[1]) is EntityRead:
                return answer[1]
        last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise HelperFailed(
            f"the read helper gave no usable answer (exit code {process.returncode}: "
            f"{scrub(last[0], 160)})"
        )

    def stop(self) -> None:
        """End the helper if it still runs (the read failed here, or gave up on it)."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def read_with_helper(
    root: Path,
    collector: Collector,
    make_collector: Callable[[], Collector],
    helper: ReadHelper | None,
    warn: Callable[[str], None],
) -> dict[str, int]:
    """Read every entity of ``root`` into ``collector``, the helper's entity (if any) by the
    helper; returns the figures of the read (pages, and the helper's pages and memory)."""
    stats = {"pages": 0}
    for entity in ENTITIES:
        if helper is None or entity != helper.entity:
            stats["pages"] += add_pages(root, entity, collector)
    if helper is None:
        return stats
    collector.resolve_ahead(helper.entity)  # while the helper is still at work
    try:
        done = helper.result()
    except HelperFailed as exc:
        warn(f"{exc}; {helper.entity} were read in this process instead")
        done = read_entity(root, helper.entity, make_collector())
    else:
        stats["helper_pages"] = done.pages
        stats["helper_peak_mb"] = done.peak_mb
    collector.absorb(done.part)
    stats["pages"] += done.pages
    return stats


def _as_read(civic: str) -> str:
    return civic


def main() -> None:
    """The helper: read the entity its argument names, write the answer to stdout."""
    import gc

    gc.disable()  # a short life of objects without cycles (see engine.perf)
    request = orjson.loads(sys.argv[1])
    collector = Collector(
        date.fromisoformat(request["today"]),
        activity_name_is_subject=bool(request["activity_name_is_subject"]),
        civic_hash=_as_read,  # the read's own collector hashes them as it absorbs the part
    )
    answer: tuple[Any, ...]
    try:
        answer = ("done", read_entity(Path(request["folder"]), request["entity"], collector))
    except SourceError as exc:
        answer = ("source_error", str(exc))
    sys.stdout.buffer.write(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
    os._exit(0)  # not freeing a gigabyte of objects one by one on the way out


if __name__ == "__main__":
    # run as a module this file is __main__: its classes must be pickled under their real
    # names for the caller to load them, so the work is done by the module imported as such
    from adapters.ss12000.read_helper import main as run_helper

    run_helper()
