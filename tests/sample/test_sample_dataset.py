"""The on-disk dump: format, round trip, and clear errors on bad input."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from adapters.ss12000.sample.dataset import (
    ENTITIES,
    Dataset,
    SampleDataError,
    read_dataset,
    write_dataset,
)


@pytest.fixture
def dump(tmp_path: Path, after_term: Dataset) -> Path:
    out = tmp_path / "dump"
    write_dataset(after_term, out)
    return out


def test_layout_and_envelopes(dump: Path, after_term: Dataset):
    names = sorted(p.name for p in dump.iterdir())
    assert names == sorted([*(f"{e}.json" for e in ENTITIES), "manifest.json", "deletions.json"])
    manifest = orjson.loads((dump / "manifest.json").read_bytes())
    assert manifest == {
        "format": "ess-ss12000-sample",
        "version": 1,
        "seed": 3,
        "size": "small",
        "asOf": "2026-01-12",
        "generation": 1,
    }
    for e in ENTITIES:
        page = orjson.loads((dump / f"{e}.json").read_bytes())
        assert list(page) == ["data", "pageToken"]
        assert page["pageToken"] is None
        assert len(page["data"]) == len(after_term.entities[e])
    deletions = orjson.loads((dump / "deletions.json").read_bytes())
    assert deletions
    assert deletions[0]["deletedAt"] == "2026-01-12T06:00:00Z"
    assert set(deletions[0]) == {"entity", "id", "deletedAt"}


def test_round_trip(dump: Path, after_term: Dataset):
    assert read_dataset(dump) == after_term


def test_round_trip_of_a_fresh_dataset(tmp_path: Path, small: Dataset):
    write_dataset(small, tmp_path)
    again = read_dataset(tmp_path)
    assert again == small
    assert again.deletions == []


def test_missing_deletions_file_means_none(dump: Path):
    (dump / "deletions.json").unlink()
    assert read_dataset(dump).deletions == []


def test_counts(after_term: Dataset):
    counts = after_term.counts()
    assert counts["persons"] == len(after_term.entities["persons"])
    memberships = sum(len(g["groupMemberships"]) for g in after_term.entities["groups"])
    assert counts["memberships"] == memberships
    assert counts["deletions"] == len(after_term.deletions)


@pytest.mark.parametrize(
    ("file", "content", "problem"),
    [
        ("persons.json", b'{"data": [', "not valid JSON"),
        ("groups.json", b'{"items": []}', "API page"),
        ("duties.json", b'{"data": [], "pageToken": "abc"}', "pageToken"),
        ("activities.json", b'{"data": [{"displayName": "MA"}], "pageToken": null}', "data[0]"),
        ("manifest.json", b'{"format": "other"}', "manifest"),
        ("manifest.json", b'{"format": "ess-ss12000-sample", "version": 7}', "version"),
        ("deletions.json", b'[{"entity": "pupils", "id": "x", "deletedAt": "x"}]', "entry 0"),
        ("deletions.json", b'[{"entity": "persons", "id": "x", "deletedAt": "2026"}]', "RFC 3339"),
    ],
)
def test_bad_files_are_named(dump: Path, file: str, content: bytes, problem: str):
    (dump / file).write_bytes(content)
    with pytest.raises(SampleDataError) as err:
        read_dataset(dump)
    assert file in str(err.value)
    assert problem in str(err.value)


def test_bad_manifest_fields(dump: Path):
    doc = orjson.loads((dump / "manifest.json").read_bytes())
    for key, value, problem in [
        ("seed", "one", "seed"),
        ("asOf", "yesterday", "asOf"),
        ("generation", -1, "generation"),
    ]:
        (dump / "manifest.json").write_bytes(orjson.dumps({**doc, key: value}))
        with pytest.raises(SampleDataError, match=problem):
            read_dataset(dump)


def test_missing_file_and_folder(dump: Path, tmp_path: Path):
    (dump / "groups.json").unlink()
    with pytest.raises(SampleDataError, match=r"groups\.json: file is missing"):
        read_dataset(dump)
    with pytest.raises(SampleDataError, match="not a folder"):
        read_dataset(tmp_path / "nowhere")
    assert issubclass(SampleDataError, ValueError)


def test_errors_never_quote_personal_data(dump: Path):
    raw = (dump / "persons.json").read_bytes()
    (dump / "persons.json").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(SampleDataError) as err:
        read_dataset(dump)
    data = orjson.loads(raw)["data"]
    civic = {p["civicNo"]["value"] for p in data}
    assert not any(c in str(err.value) for c in civic)
