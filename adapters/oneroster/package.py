"""Reading a OneRoster CSV package: its files by name, each row with its line number.

A package is a folder or a zip (its files may sit in a subfolder); ``manifest.csv`` says
whether it is a bulk or a delta package. Each file is decoded as UTF-8 (a BOM allowed) while
it is read, so a large package is never in memory whole. A file ESS cannot read (a wrong
encoding, a NUL byte, a header without a column ESS needs, an empty file) is one
:class:`SourceError` naming the file, and the line and column where there is one.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from adapters.kit.exports import ExportFile, Readable, ZipLimits, export_files
from adapters.oneroster.columns import NEEDED, REQUIRED_FILES, SPEC
from engine.source import SourceError

Row = dict[str, str]
Warn = Callable[[str, str], None]  # (file, message)


@dataclass(frozen=True)
class Package:
    """The package's files by their base name (``users.csv``)."""

    files: dict[str, ExportFile]
    manifest: dict[str, str]

    name: str = ""  # the folder or zip, for messages

    @property
    def delta(self) -> bool:
        return any(
            v.strip().lower() == "delta" for k, v in self.manifest.items() if k.startswith("file.")
        )

    def mode(self, file: str) -> str:
        """How the manifest gives ``file`` (``users.csv``): ``bulk`` (the whole of it),
        ``delta`` (changes since the package before) or ``absent``; without a manifest line,
        ``bulk`` when the package holds the file."""
        said = self.manifest.get("file." + file.removesuffix(".csv"), "").strip().lower()
        if said in ("bulk", "delta", "absent"):
            return said if said == "absent" or file in self.files else "absent"
        return "bulk" if file in self.files else "absent"


class _Raw(io.RawIOBase):
    """Any binary stream as a raw one, so that io's C text layer decodes it (several times
    quicker than a Python codec reader)."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._stream.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _base(f: ExportFile) -> str:
    return PurePosixPath(f.name.split("!")[-1].replace("\\", "/")).name


def open_packages(path: Path, limits: ZipLimits) -> list[Package]:
    """The package at ``path``, or, when ``path`` is a folder holding no CSV file but
    folders or zips, each of those as a package in name order: a bulk package and the delta
    packages after it."""
    if path.is_dir() and not any(
        p.suffix.lower() == ".csv" for p in path.iterdir() if not p.name.startswith(".")
    ):
        parts = [
            p
            for p in sorted(path.iterdir())
            if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() == ".zip")
        ]
        if parts:
            return [open_package(p, limits) for p in parts]
    return [open_package(path, limits)]


def open_package(path: Path, limits: ZipLimits) -> Package:
    by_name: dict[str, ExportFile] = {}
    for f in export_files(path, (".csv",), limits):
        base = _base(f)
        if base in by_name:
            raise SourceError(
                f"{path}: the package holds {base} twice ({by_name[base].name}, {f.name})"
            )
        by_name[base] = f
    manifest: dict[str, str] = {}
    if "manifest.csv" in by_name:
        for _, row in rows(by_name["manifest.csv"], ("propertyName", "value"), lambda f, m: None):
            manifest[row.get("propertyName", "")] = row.get("value", "")
    package = Package(by_name, manifest, str(path))
    missing = [n for n in REQUIRED_FILES if package.mode(n) == "absent"]
    if missing and not package.delta:
        raise SourceError(
            f"{path}: the package has no {', '.join(missing)} (OneRoster needs orgs.csv, "
            "users.csv and roles.csv; classes.csv and enrollments.csv for classes)"
        )
    version = manifest.get("oneroster.version", "1.2").strip()
    if version and not version.startswith("1.2"):
        raise SourceError(f"{path}: manifest.csv says OneRoster {version}; ESS reads 1.2")
    return package


def rows(f: ExportFile, needed: tuple[str, ...] | None, warn: Warn) -> Iterator[tuple[int, Row]]:
    """(line, row) for each data row; the header is checked first."""
    with table(f, needed, warn) as t:
        header = t.header
        for line, values in t:
            yield line, dict(zip(header, values, strict=True))


class Table:
    """One CSV file's checked header and its data rows as (line, values), each row as many
    values as the header has columns (a short row filled out with empty values, after a
    warning). A large file is read this way rather than as one dict per row."""

    def __init__(self, f: ExportFile, needed: tuple[str, ...] | None, warn: Warn) -> None:
        self.file, self._needed, self._warn = f, needed, warn
        self.header: list[str] = []
        self.index: dict[str, int] = {}
        self._opened: Any = None  # the file's context manager: it turns errors into messages
        self._reader: Any = None

    def __enter__(self) -> Table:
        self._opened = self.file.open()
        stream = self._opened.__enter__()
        try:
            self._start(stream)
        except BaseException:
            self.__exit__(*sys.exc_info())  # may put a message in the error's place
            raise
        return self

    def _start(self, stream: Readable) -> None:
        """Open the reader and check the header."""
        f = self.file
        base = _base(f)
        need = NEEDED.get(base, ()) if self._needed is None else self._needed
        buffered = io.BufferedReader(_Raw(stream), 1 << 16)
        text = io.TextIOWrapper(buffered, encoding="utf-8-sig", newline="")
        self._reader = reader = csv.reader(text, strict=True)
        with self.errors():
            header = next(reader, None)
        if header is None:
            raise SourceError(f"{f.name}: the file is empty (no header row)")
        header = [h.strip() for h in header]
        missing = [c for c in need if c not in header]
        if missing:
            raise SourceError(
                f"{f.name} line 1: the header has no column {', '.join(missing)} "
                f"(OneRoster 1.2 names them {', '.join(SPEC.get(base, need))})"
            )
        known = set(SPEC.get(base, header))
        odd = [h for h in header if h not in known and not h.startswith("metadata.")]
        if odd:
            self._warn(
                f.name,
                f"the header has columns OneRoster 1.2 does not name: {', '.join(odd[:5])}",
            )
        self.header = header
        self.index = {name: i for i, name in enumerate(header)}  # a repeated name: the last

    def __exit__(self, *exc: Any) -> bool | None:
        opened, self._opened = self._opened, None
        return None if opened is None else bool(opened.__exit__(*exc))

    def column(self, name: str) -> int | None:
        return self.index.get(name)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader, width = self._reader, len(self.header)
        with self.errors():
            for values in reader:
                if len(values) != width:
                    fixed = self.fit(values)
                    if fixed is None:
                        continue
                    values = fixed
                yield reader.line_num, values

    @property
    def reader(self) -> Iterator[list[str]]:
        """The rows themselves, for a caller that reads a large file in a loop of its own:
        it reads them inside :meth:`errors`, passes a row whose width is not the header's
        through :meth:`fit`, and asks :attr:`line` only for a finding."""
        reader: Iterator[list[str]] = self._reader
        return reader

    @property
    def name(self) -> str:
        """The file the current row is in."""
        return self.file.name

    @property
    def line(self) -> int:
        """The line the current row ends on."""
        return int(self._reader.line_num)

    def fit(self, values: list[str]) -> list[str] | None:
        """A row of another width than the header's: None for an empty one, else (after a
        warning) filled out with empty values or cut to the header's width."""
        if not any(values):
            return None
        width = len(self.header)
        self._warn(
            self.file.name,
            f"line {self.line} has {len(values)} values for {width} columns; the row is "
            "read as far as it goes",
        )
        return (values + [""] * width)[:width]

    @contextmanager
    def errors(self) -> Iterator[None]:
        """A row that cannot be decoded or parsed as one :class:`SourceError`."""
        name, reader = self.file.name, self._reader
        try:
            yield
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{name} near line {reader.line_num + 1}: not UTF-8 ({exc.reason}); export the "
                "package as UTF-8"
            ) from None
        except csv.Error as exc:
            raise SourceError(f"{name} line {reader.line_num}: not a CSV row ({exc})") from None


def table(f: ExportFile, needed: tuple[str, ...] | None, warn: Warn) -> Table:
    """The file as a :class:`Table`, to be used in a ``with`` block."""
    return Table(f, needed, warn)
