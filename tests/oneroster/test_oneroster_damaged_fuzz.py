"""Damaged OneRoster packages, generated: a read gives a snapshot with findings or one
SourceError naming the file; never another exception. A user row with values ESS cannot use
is refused and held, never dropped as if it were gone."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oneroster_helpers import FILES, read_path, write_package

from engine.source import SourceError

NAMES = sorted(FILES)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


def _bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(NAMES))
    body = bytearray(_bytes(FILES[name]))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(body) - 1, 0)))
        how = draw(st.sampled_from(["cut", "flip", "insert", "delete", "repeat"]))
        if how == "cut":
            del body[at:]
        elif how == "flip" and body:
            body[at] = draw(st.integers(0, 255))
        elif how == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif how == "delete":
            del body[at : at + draw(st.integers(1, 40))]
        else:
            body[at:at] = body[at : at + draw(st.integers(1, 200))]
    return name, bytes(body)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_a_damaged_file_is_read_or_one_clear_error(case: tuple[str, bytes]) -> None:
    name, body = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_package(Path(tmp))
        (folder / name).write_bytes(body)
        problem = ""
        try:
            read_path(folder)
        except SourceError as exc:
            problem = str(exc)
        assert not problem or name in problem or "package" in problem, problem


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(given_name=TEXT, family=TEXT, role=TEXT, begin=TEXT)
def test_a_user_with_values_ess_cannot_use_is_refused_never_dropped(
    given_name: str, family: str, role: str, begin: str
) -> None:
    users = [*FILES["users.csv"], ["UX", "", "", "true", "x", "", given_name, family, *[""] * 15]]
    roles = [*FILES["roles.csv"], ["RX", "", "", "UX", "primary", role, begin, "", "S1", ""]]
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_package(Path(tmp), {"users.csv": users, "roles.csv": roles})
        snap = read_path(folder).snapshot
    assert "UX" in snap.persons or "UX" in snap.refused.persons
