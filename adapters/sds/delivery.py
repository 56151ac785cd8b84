"""Delivering a set: to a folder, or uploaded through Graph's industryData data connector.

Either way the folder keeps the last set delivered (for an upload, the copy SDS validated):
it is what the next set is built on and what an operation in doubt is read back from. What an
answer means for the run's operations is said here: a set that reached nobody is sent again
(``retry``), one whose validation may have started is ``in_doubt`` (read back before anything
is sent again: :meth:`UploadDelivery.settle`), a refused credential or a missing connector is
``fatal``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from adapters.kit.http import NoAnswer
from engine.target import Outcome

from .files import FileSet, SetError
from .folder import SetFolder, Tables
from .graph import GraphClient, GraphRefusal

Emit = Callable[[str, str], None]


class DeliveryProblem(Exception):
    """The set was not (or not surely) delivered: the outcome every operation of it gets."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


class Delivery(Protocol):
    where: str

    async def last(self) -> Tables | None: ...

    async def deliver(self, fileset: FileSet, run_id: int, emit: Emit) -> None: ...

    async def settle(self, emit: Emit) -> bool | None:
        """Whether a delivery left in doubt took effect (None: still unknown)."""
        ...

    def unsettled(self) -> bool:
        """A delivery is in doubt and :meth:`settle` could not yet tell its fate."""
        ...

    async def aclose(self) -> None: ...


async def _last(folder: SetFolder, where: str) -> Tables | None:
    try:
        return await asyncio.to_thread(folder.last)
    except (SetError, OSError) as exc:
        raise DeliveryProblem(
            Outcome.fatal(
                "set_unreadable",
                f"the last delivered set in {where} cannot be read back ({exc}); restore it "
                "before the next delivery, or a partial set would deactivate records in SDS",
            )
        ) from None


class FolderDelivery:
    """The set written to ``folder/current`` (see :mod:`adapters.sds.folder`)."""

    def __init__(self, folder: SetFolder) -> None:
        self.folder = folder
        self.where = str(folder.current)

    async def last(self) -> Tables | None:
        return await _last(self.folder, self.where)

    async def deliver(self, fileset: FileSet, run_id: int, emit: Emit) -> None:
        try:
            path = await asyncio.to_thread(self.folder.write, fileset, run=run_id)
        except OSError as exc:
            raise DeliveryProblem(
                Outcome.retry("folder_unwritable", f"cannot write the set to {self.where}: {exc}")
            ) from None
        emit("info", f"sds: delivered set {fileset.digest[:12]} to {path}: {_counts(fileset)}")

    async def settle(self, emit: Emit) -> bool | None:
        return None  # a folder write is done or not: never in doubt

    def unsettled(self) -> bool:
        return False

    async def aclose(self) -> None:
        return None


@dataclass
class _Pending:
    """A set whose validation may have started: kept in memory and, once the operation to
    poll is known, on disk (``folder/pending``), so a later run settles it."""

    fileset: FileSet
    run_id: int
    container_id: str
    operation: str | None = None

    def note(self) -> dict[str, object]:
        return {
            "operation": self.operation,
            "run": self.run_id,
            "container": self.container_id,
            "digest": self.fileset.digest,
        }


class UploadDelivery:
    """Upload session, blobs, validate, poll; the validated set copied to ``folder``."""

    def __init__(self, folder: SetFolder, graph: GraphClient) -> None:
        self.folder = folder
        self.graph = graph
        self.where = f"the SDS data connector {graph.connector}"
        self.pending: _Pending | None = None

    async def last(self) -> Tables | None:
        return await _last(self.folder, str(self.folder.current))

    async def deliver(self, fileset: FileSet, run_id: int, emit: Emit) -> None:
        self.pending = None
        try:
            session = await self.graph.upload_session()
            for name, data in sorted(fileset.files.items()):
                await self.graph.upload(session, name, data)
        except NoAnswer as exc:
            raise DeliveryProblem(Outcome.retry(exc.kind, f"sds upload: {exc}")) from None
        except GraphRefusal as exc:
            raise DeliveryProblem(_refused(exc, before_validate=True)) from None
        pending = _Pending(fileset, run_id, session.container_id)
        self.pending = pending
        try:
            pending.operation = await self.graph.validate()
            await asyncio.to_thread(self.folder.write_pending, fileset, pending.note())
        except NoAnswer as exc:
            raise DeliveryProblem(
                Outcome.in_doubt(exc.kind, f"sds validate got no answer: {exc}")
            ) from None
        except GraphRefusal as exc:
            if exc.status >= 500:
                raise DeliveryProblem(Outcome.in_doubt("server_error", str(exc))) from None
            self.pending = None
            raise DeliveryProblem(_refused(exc, before_validate=False)) from None
        done = await self._finish(pending, emit)
        if done is None:
            raise DeliveryProblem(
                Outcome.in_doubt("validating", "sds validation has not finished; read back later")
            )
        if not done:
            raise DeliveryProblem(Outcome.retry("validate_failed", self._refusal))

    _refusal = ""

    async def _finish(self, pending: _Pending, emit: Emit) -> bool | None:
        """Poll the validation: True once the set is validated (the copy is then written),
        False when SDS refused it, None when it is still unknown."""
        if pending.operation is None:
            return None
        try:
            state = await self.graph.poll(pending.operation)
        except (NoAnswer, GraphRefusal):
            return None
        if state.status in ("notStarted", "running"):
            return None
        self.pending = None
        await asyncio.to_thread(self.folder.drop_pending)
        for warning in state.warnings[:20]:
            emit("warning", f"sds validation warning: {warning}")
        if state.status != "succeeded" or state.errors:
            shown = "; ".join(state.errors[:5]) or f"status {state.status}"
            self._refusal = f"SDS refused the set in validation: {shown}"
            emit("error", self._refusal)
            return False
        await asyncio.to_thread(
            self.folder.write,
            pending.fileset,
            run=pending.run_id,
            container=pending.container_id,
            validation=pending.operation,
            warnings=len(state.warnings),
        )
        emit(
            "info",
            f"sds: uploaded and validated set {pending.fileset.digest[:12]} "
            f"({len(state.warnings)} warning(s)): {_counts(pending.fileset)}",
        )
        await self._report_run(emit)
        return True

    async def _report_run(self, emit: Emit) -> None:
        """The outcome of the latest scheduled run: SDS processes validated files on its own
        schedule (about twice a day), so this is the run that processed an earlier set."""
        try:
            run = await self.graph.latest_run()
        except (NoAnswer, GraphRefusal) as exc:
            emit("warning", f"sds: cannot read the latest industry data run: {exc}")
            return
        if run is None:
            emit("info", "sds: no industry data run yet; SDS processes the set on its schedule")
            return
        status = str(run.get("status", ""))
        level = "info" if status in ("completed", "running") else "warning"
        emit(level, f"sds: latest industry data run {run.get('id', '')}: {status}")

    async def settle(self, emit: Emit) -> bool | None:
        pending = self.pending or await self._pending_on_disk()
        if pending is None:
            return None
        self.pending = pending
        if pending.operation is None:
            try:
                pending.operation = await self.graph.validate()
            except (NoAnswer, GraphRefusal):
                return None
        return await self._finish(pending, emit)

    async def _pending_on_disk(self) -> _Pending | None:
        """A set an earlier run left validating (it stopped before the validation was over)."""
        try:
            found = await asyncio.to_thread(self.folder.pending)
        except (SetError, OSError, ValueError):
            await asyncio.to_thread(self.folder.drop_pending)  # unreadable: upload again
            return None
        if found is None:
            return None
        fileset, note = found
        operation = note.get("operation")
        if not isinstance(operation, str) or not operation:
            return None
        run = note.get("run")
        return _Pending(
            fileset, run if isinstance(run, int) else 0, str(note.get("container", "")), operation
        )

    def unsettled(self) -> bool:
        return self.pending is not None

    async def aclose(self) -> None:
        await self.graph.aclose()


def _refused(exc: GraphRefusal, *, before_validate: bool) -> Outcome:
    if exc.status == 429:
        return Outcome.retry("throttled", str(exc), exc.retry_after)
    if exc.status >= 500 or exc.status == 408:
        return Outcome.retry("server_error", str(exc))
    if exc.where == "token endpoint" or exc.status in (401, 403):
        return Outcome.fatal(
            "not_authorised",
            f"{exc}; check the app registration's secret and its IndustryData-DataConnector."
            "Upload permission (admin consent)",
        )
    if exc.status == 404:
        return Outcome.fatal("no_connector", f"{exc}; check data_connector_id")
    return Outcome.fatal("refused", str(exc))


def _counts(fileset: FileSet) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(fileset.rows.items()))
