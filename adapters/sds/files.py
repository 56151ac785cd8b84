"""The set as files: rows to CSV bytes (UTF-8, RFC 4180: CRLF line ends, fields quoted when
they hold a comma or a quote), CSV bytes back to rows, and the manifest of row counts and
checksums that goes with every delivered set.

Rows are written in key order, so the same rows make the same bytes and the same checksum.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from .columns import BY_NAME, FILES, row_key

Table = Mapping[str, Mapping[str, str]]  # key -> row
MANIFEST = "manifest.json"


class SetError(ValueError):
    """A file of the set cannot be read back: its name, and what is wrong."""


@dataclass(frozen=True)
class FileSet:
    """The bytes of each file of the set, by file name."""

    files: Mapping[str, bytes]
    rows: Mapping[str, int]

    def manifest(self, **extra: object) -> bytes:
        """Row counts and SHA-256 of every file, and whatever else the delivery adds."""
        body = {
            "format": "SDS v2.1 CSV",
            "files": {
                name: {"rows": self.rows[name], "sha256": hashlib.sha256(data).hexdigest()}
                for name, data in sorted(self.files.items())
            },
            **extra,
        }
        return orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

    @property
    def digest(self) -> str:
        """One checksum for the whole set."""
        h = hashlib.sha256()
        for name, data in sorted(self.files.items()):
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()


def write_set(tables: Mapping[str, Table]) -> FileSet:
    """Every file of the set (header only when a kind has no rows), from rows by kind."""
    files: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for spec in FILES:
        table = tables.get(spec.kind, {})
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(spec.headers)
        for key in sorted(table):
            row = table[key]
            writer.writerow([row.get(h, "") for h in spec.headers])
        files[spec.name] = buf.getvalue().encode("utf-8")
        counts[spec.name] = len(table)
    return FileSet(files, counts)


def read_set(files: Mapping[str, bytes]) -> dict[str, dict[str, dict[str, str]]]:
    """Rows by kind and key from the set's files; raises :class:`SetError` naming a missing
    file, a header that differs from the spec, or a row of the wrong width."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for spec in FILES:
        if spec.name not in files:
            raise SetError(f"{spec.name} is missing from the set")
        try:
            text = files[spec.name].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SetError(f"{spec.name} is not UTF-8 (byte {exc.start})") from None
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None or tuple(header) != spec.headers:
            raise SetError(f"{spec.name} has the header {header}, not {list(spec.headers)}")
        table: dict[str, dict[str, str]] = {}
        for n, values in enumerate(reader, start=2):
            if len(values) != len(spec.headers):
                raise SetError(f"{spec.name} line {n} has {len(values)} fields, not {len(header)}")
            row = dict(zip(spec.headers, values, strict=True))
            table[row_key(spec, row)] = row
        out[spec.kind] = table
    return out


def is_set_file(name: str) -> bool:
    return name in BY_NAME
