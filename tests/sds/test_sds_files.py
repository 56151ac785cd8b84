"""The set as files: exact names and case-sensitive headers of the published v2.1 samples,
RFC 4180 quoting, UTF-8, and a set that reads back to the rows it was written from."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from adapters.sds.columns import FILES
from adapters.sds.files import SetError, read_set, write_set

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs" / "sds" / "v2.1"


def spec_header(name: str) -> list[str]:
    with open(SPEC / name, encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f))


@pytest.mark.parametrize("spec", FILES, ids=[f.name for f in FILES])
def test_headers_are_the_published_ones(spec: object) -> None:
    from adapters.sds.columns import FileSpec

    assert isinstance(spec, FileSpec)
    if not (SPEC / spec.name).exists():
        pytest.skip(f"the published sample {spec.name} is not in ../shared/specs/sds/v2.1")
    assert list(spec.headers) == spec_header(spec.name)
    written = write_set({}).files[spec.name].decode("utf-8")
    assert written == ",".join(spec.headers) + "\r\n"


def test_every_file_is_written_even_without_rows() -> None:
    made = write_set({})
    assert sorted(made.files) == sorted(f.name for f in FILES)
    assert set(made.rows.values()) == {0}


def test_values_are_quoted_per_rfc4180_and_read_back() -> None:
    row = {
        "sourcedId": "g1",
        "orgSourcedId": "s1",
        "title": 'Svenska, "grupp" Å',
        "sessionSourcedIds": "sy-2026-27",
        "courseSourcedId": "",
    }
    made = write_set({"class": {"g1": row}})
    data = made.files["classes.csv"]
    assert data.endswith(b"\r\n")
    assert '"Svenska, ""grupp"" Å"'.encode() in data
    back = read_set(made.files)
    assert back["class"] == {"g1": row}


def test_same_rows_make_the_same_bytes_in_any_order() -> None:
    a = {"o1": {"sourcedId": "o1", "name": "A", "type": "school"}}
    b = {"o2": {"sourcedId": "o2", "name": "B", "type": "school"}}
    assert write_set({"org": a | b}).digest == write_set({"org": b | a}).digest
    assert write_set({"org": a}).digest != write_set({"org": a | b}).digest


def test_a_wrong_header_is_named() -> None:
    files = dict(write_set({}).files)
    files["users.csv"] = b"SourcedId,username\r\n"
    with pytest.raises(SetError, match=r"users\.csv has the header"):
        read_set(files)
    del files["users.csv"]
    with pytest.raises(SetError, match=r"users\.csv is missing"):
        read_set(files)


def test_manifest_counts_and_checksums() -> None:
    import hashlib

    import orjson

    made = write_set({"org": {"o1": {"sourcedId": "o1", "name": "A", "type": "school"}}})
    manifest = orjson.loads(made.manifest(run=7))
    assert manifest["run"] == 7
    assert manifest["files"]["orgs.csv"]["rows"] == 1
    assert (
        manifest["files"]["orgs.csv"]["sha256"]
        == hashlib.sha256(made.files["orgs.csv"]).hexdigest()
    )
