"""The files of an export a customer hands over: one file, a folder of files or a zip.

Every file source (IMS Enterprise XML, OneRoster CSV) reads its export through
:func:`export_files`: the files in name order (a complete export first, then the deltas
after it, as their names sort), each opened as a binary stream when its turn comes, so a
large export is never read into memory whole.

A zip is read member by member as it is decompressed, guarded against a zip bomb: the
members' declared sizes, their count and the compression ratio are checked before anything
is read, and the bytes actually decompressed are counted as they come (a zip may lie about
its sizes), so a hostile archive is one clear :class:`SourceError`, never a full disk or an
exhausted memory.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from engine.source import SourceError

MAX_UNPACKED = 8 * 1024**3  # bytes a zip may unpack to in all
MAX_RATIO = 200  # a member may unpack to this many times its packed size
MAX_MEMBERS = 10_000


class Readable(Protocol):
    """A binary stream, as far as a parser needs one."""

    def read(self, n: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class ExportFile:
    """One file of an export: its name for messages and how to open it."""

    name: str
    open: Callable[[], AbstractContextManager[Readable]]
    size: int


@dataclass(frozen=True)
class ZipLimits:
    max_unpacked: int = MAX_UNPACKED
    max_ratio: int = MAX_RATIO
    max_members: int = MAX_MEMBERS


class _Counted:
    """A member stream that stops the read once more bytes come than the zip declared."""

    def __init__(self, raw: IO[bytes], limit: int, name: str) -> None:
        self._raw, self._left, self._name = raw, limit, name

    def read(self, n: int = -1, /) -> bytes:
        chunk = self._raw.read(n if n >= 0 else self._left + 1)
        self._left -= len(chunk)
        if self._left < 0:
            raise SourceError(
                f"{self._name}: unpacks to more bytes than the zip declares; refused as a "
                "possible zip bomb"
            )
        return chunk


def _file(path: Path) -> ExportFile:
    @contextmanager
    def opener() -> Iterator[Readable]:
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise SourceError(f"{path}: cannot be read ({exc.strerror})") from None
        with stream:
            yield stream

    return ExportFile(str(path), opener, path.stat().st_size)


def _zip_files(path: Path, suffixes: tuple[str, ...], limits: ZipLimits) -> list[ExportFile]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"{path}: not a zip file that can be read ({exc})") from None
    with archive:
        infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise SourceError(
            f"{path}: the zip holds {len(infos)} files, more than {limits.max_members}; "
            "refused as a possible zip bomb"
        )
    chosen = sorted(
        (
            i
            for i in infos
            if not i.is_dir()
            and PurePosixPath(i.filename).suffix.lower() in suffixes
            and not PurePosixPath(i.filename).name.startswith(".")
        ),
        key=lambda i: i.filename,
    )
    total = sum(i.file_size for i in chosen)
    if total > limits.max_unpacked:
        raise SourceError(
            f"{path}: the zip unpacks to {total} bytes, more than {limits.max_unpacked}; "
            "refused as a possible zip bomb"
        )
    for i in chosen:
        if i.file_size > max(i.compress_size, 1) * limits.max_ratio and i.file_size > 1 << 20:
            raise SourceError(
                f"{path}: {i.filename} unpacks {i.file_size // max(i.compress_size, 1)} times "
                "its packed size; refused as a possible zip bomb"
            )
    return [_member(path, i) for i in chosen]


def _member(path: Path, info: zipfile.ZipInfo) -> ExportFile:
    where = f"{path}!{info.filename}"

    @contextmanager
    def opener() -> Iterator[Readable]:
        try:
            with zipfile.ZipFile(path) as archive, archive.open(info) as raw:
                yield _Counted(raw, info.file_size, where)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise SourceError(f"{where}: cannot be unpacked ({exc})") from None

    return ExportFile(where, opener, info.file_size)


def export_files(
    path: Path, suffixes: tuple[str, ...], limits: ZipLimits | None = None
) -> list[ExportFile]:
    """The files of the export at ``path`` whose names end in one of ``suffixes`` (lower
    case, with the dot), in name order; a missing path or an export with none of them is
    a :class:`SourceError` naming it."""
    kinds = " or ".join(suffixes)
    if path.is_dir():
        files = [
            _file(p)
            for p in sorted(path.iterdir())
            if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(".")
        ]
    elif path.is_file() and path.suffix.lower() == ".zip":
        files = _zip_files(path, suffixes, limits or ZipLimits())
    elif path.is_file():
        files = [_file(path)]
    else:
        raise SourceError(f"{path}: no such file or folder")
    if not files:
        raise SourceError(f"{path}: holds no {kinds} files")
    return files
