"""The delivered set on disk: each set written whole into a folder of its own, then made the
current one by an atomic rename, with its manifest of row counts and checksums.

Layout under the configured folder::

    sets/<UTC time>-<digest>/   one delivered set: the CSVs and manifest.json
    current -> sets/...         the set now delivered (a symlink, replaced atomically)

A reader of ``current`` sees the old set or the new one, never a mix. Where symlinks cannot
be made (Windows without the privilege), ``current`` is a folder replaced by two renames and
a half-done swap is finished on the next start. The newest ``KEEP`` sets are kept.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import orjson

from .columns import BY_KIND
from .files import MANIFEST, FileSet, SetError, is_set_file, read_set

KEEP = 3
CURRENT, SETS, OLD, PENDING = "current", "sets", ".current-old", "pending"
PENDING_NOTE = "pending.json"

Tables = dict[str, dict[str, dict[str, str]]]


class SetFolder:
    """One folder holding the delivered set (or, for an upload, the copy SDS accepted)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def current(self) -> Path:
        return self.root / CURRENT

    def _recover(self) -> None:
        old = self.root / OLD
        if old.exists() and not self.current.exists():
            os.replace(old, self.current)  # a swap stopped between its two renames
        elif old.exists():
            shutil.rmtree(old, ignore_errors=True)

    def has_set(self) -> bool:
        self._recover()
        return self.current.exists()

    def last(self) -> Tables | None:
        """The rows of the current set, or None when none was ever delivered here; raises
        SetError when a file of it is missing or does not read back."""
        if not self.has_set():
            return None
        files: dict[str, bytes] = {}
        for path in self.current.iterdir():
            if is_set_file(path.name):
                files[path.name] = path.read_bytes()
        return read_set(files)

    def manifest(self) -> bytes | None:
        path = self.current / MANIFEST
        return path.read_bytes() if path.exists() else None

    def write(self, fileset: FileSet, **extra: object) -> Path:
        """Write ``fileset`` as the current set; returns its folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._recover()
        sets = self.root / SETS
        sets.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        final = sets / f"{stamp}-{fileset.digest[:12]}"
        tmp = sets / f".incoming-{secrets.token_hex(4)}"
        tmp.mkdir()
        try:
            for name, data in fileset.files.items():
                _write_synced(tmp / name, data)
            _write_synced(tmp / MANIFEST, fileset.manifest(**extra))
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._make_current(final)
        self._prune(sets, final)
        return final

    def write_pending(self, fileset: FileSet, note: Mapping[str, object]) -> None:
        """Keep a set whose validation has started, with ``note`` (the operation to poll, no
        secret), so that a later run can settle it instead of uploading it again."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".pending-{secrets.token_hex(4)}"
        tmp.mkdir()
        for name, data in fileset.files.items():
            _write_synced(tmp / name, data)
        _write_synced(tmp / PENDING_NOTE, orjson.dumps(dict(note)))
        self.drop_pending()
        os.replace(tmp, self.root / PENDING)

    def pending(self) -> tuple[FileSet, dict[str, object]] | None:
        """The set left pending and its note, or None."""
        folder = self.root / PENDING
        note_path = folder / PENDING_NOTE
        if not note_path.exists():
            return None
        files = {p.name: p.read_bytes() for p in folder.iterdir() if is_set_file(p.name)}
        rows = {name: len(table) for name, table in _rows_by_file(files).items()}
        return FileSet(files, rows), dict(orjson.loads(note_path.read_bytes()))

    def drop_pending(self) -> None:
        shutil.rmtree(self.root / PENDING, ignore_errors=True)

    def _make_current(self, final: Path) -> None:
        if not self.current.exists() or self.current.is_symlink():
            link = self.root / f".current-{secrets.token_hex(4)}"
            try:
                link.symlink_to(Path(SETS) / final.name, target_is_directory=True)
            except OSError:
                pass  # no symlinks here (Windows without the privilege): a copy instead
            else:
                os.replace(link, self.current)  # atomic: the old set or the new one
                return
        staged = self.root / f".current-new-{secrets.token_hex(4)}"
        shutil.copytree(final, staged)
        if self.current.is_symlink():
            self.current.unlink()
        elif self.current.exists():
            os.replace(self.current, self.root / OLD)
        os.replace(staged, self.current)
        shutil.rmtree(self.root / OLD, ignore_errors=True)

    def _prune(self, sets: Path, keep: Path) -> None:
        done = sorted(p for p in sets.iterdir() if not p.name.startswith("."))
        for old in done[:-KEEP]:
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)
        for stale in sets.glob(".incoming-*"):
            with contextlib.suppress(OSError):
                shutil.rmtree(stale)


def _rows_by_file(files: Mapping[str, bytes]) -> dict[str, dict[str, dict[str, str]]]:
    return {BY_KIND[kind].name: table for kind, table in read_set(files).items()}


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


__all__ = ["SetError", "SetFolder", "Tables"]
