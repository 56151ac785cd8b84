"""Hostile text in a snapshot, whatever the source: control characters are removed with a
warning per record, values past the strictest limit of the run's targets are blocking findings
that name the field, the length and the limit (never the value), and a run through the engine
keeps both away from its target."""

from __future__ import annotations

from dataclasses import replace

import orjson
from hypothesis import given
from hypothesis import strategies as st

from engine.findings import Finding, Severity
from engine.limits import Limit, check, shortened, strictest, utf16_length
from engine.model import SchoolRole, Snapshot
from engine.sanitize import CONTROL, clean, sanitize, tidy_findings
from engine.testing.builder import tiny_snapshot
from engine.validate import blocked_ids, validate
from tests.conftest import Workdir

HOSTILE = ["\x00", "\x1b", "\u202e", "\u202a", "\u2066", "\u2069", "\x7f", "\x85", "\x9b"]


def hostile_snapshot() -> tuple[Snapshot, dict[str, str]]:
    """A tiny snapshot with control characters in a person's names and address, a group's
    name, a school's name and a duty title; returns it and the records' ids."""
    snap = tiny_snapshot()
    ids = {
        "person": sorted(snap.persons)[0],
        "group": sorted(snap.groups)[0],
        "school": sorted(snap.schools)[0],
    }
    persons = dict(snap.persons)
    p = persons[ids["person"]]
    persons[p.id] = replace(
        p,
        given_name="An\x00na",
        family_name="\u202eSvensson\x1b[2J",
        emails=(f"x{p.emails[0]}\x00",),
    )
    groups = dict(snap.groups)
    groups[ids["group"]] = replace(groups[ids["group"]], name="7A\u2066\tklass\u2069")
    schools = dict(snap.schools)
    schools[ids["school"]] = replace(schools[ids["school"]], name="Norr\x9bskolan")
    staff = next(r for r in snap.school_roles if r.title)
    ids["staff"] = staff.person_id
    roles = tuple(r._replace(title="L\x00ärare") if r == staff else r for r in snap.school_roles)
    return (
        replace(snap, persons=persons, groups=groups, schools=schools, school_roles=roles),
        ids,
    )


def test_control_characters_are_removed_with_one_warning_per_record() -> None:
    snap, ids = hostile_snapshot()
    clean_snap, findings = sanitize(snap)
    p = clean_snap.persons[ids["person"]]
    assert (p.given_name, p.family_name) == ("Anna", "Svensson[2J")
    assert p.emails == (snap.persons[ids["person"]].emails[0][:-1],)
    assert p.civic_no == snap.persons[ids["person"]].civic_no  # identity kept
    assert clean_snap.groups[ids["group"]].name == "7A klass"  # a tab is a space
    assert clean_snap.schools[ids["school"]].name == "Norrskolan"
    assert {r.title for r in clean_snap.school_roles if r.person_id == ids["staff"]} == {"Lärare"}
    by_record = {(f.record_type, f.record_id): f for f in findings}
    assert len(by_record) == len(findings)  # one per record
    assert set(by_record) == {
        ("person", ids["person"]),
        ("group", ids["group"]),
        ("school", ids["school"]),
        ("person", ids["staff"]),
    }
    assert all(f.severity is Severity.WARNING for f in findings)
    named = by_record[("person", ids["person"])].message
    assert "given_name" in named and "family_name" in named and "emails" in named
    assert "title" in by_record[("person", ids["staff"])].message
    # the memberships are those of the snapshot read
    assert clean_snap.counts() == snap.counts()
    for f in findings:
        assert not CONTROL.search(f.message + f.fix)
    # and nothing is left for the rules to find
    for text in [*clean_snap.persons.values(), *clean_snap.groups.values()]:
        assert not CONTROL.search(repr(text))


def test_a_clean_snapshot_is_handed_back_as_it_is() -> None:
    snap = tiny_snapshot()
    again, findings = sanitize(snap)
    assert again is snap
    assert findings == []


def test_a_name_of_nothing_but_control_characters_blocks_its_record() -> None:
    snap = tiny_snapshot()
    pid = sorted(snap.persons)[0]
    persons = dict(snap.persons)
    persons[pid] = replace(persons[pid], given_name="\x00\x1b")
    _, findings = sanitize(replace(snap, persons=persons))
    blocking = [f for f in findings if f.blocking]
    assert [(f.code, f.record_id) for f in blocking] == [("text.empty_after_cleaning", pid)]
    assert blocked_ids(findings)[1] == {pid}


@given(st.text(alphabet=st.sampled_from([*HOSTILE, "a", "Å", " ", "\n", "\t", "-"])))
def test_clean_leaves_no_control_character(text: str) -> None:
    out = clean(text)
    assert not CONTROL.search(out)
    assert "  " not in out or "  " in text  # the spaces it puts in are never doubled
    if not CONTROL.search(text):
        assert out == text


def test_finding_texts_are_escaped_and_cut() -> None:
    dirty = Finding("x", Severity.WARNING, "group", "g1", "name 'A\x1bB\u202e' " + "x" * 5000)
    (tidy,) = tidy_findings([dirty])
    assert "\x1b" not in tidy.message and "\u202e" not in tidy.message
    assert "\\x1b" in tidy.message and "\\u202e" in tidy.message
    assert len(tidy.message) <= 2000
    fine = [Finding("y", Severity.WARNING, "group", "g2", "all well")]
    assert tidy_findings(fine) is fine


def test_the_strictest_limit_of_the_targets_wins() -> None:
    limits = strictest(
        [
            ("generous", {"person": {"given_name": 1000, "family_name": 1000}}),
            ("graph", {"person": {"given_name": 64}, "group": {"name": 256}}),
        ]
    )
    assert limits == {
        ("person", "given_name"): Limit(64, "graph"),
        ("person", "family_name"): Limit(1000, "generous"),
        ("group", "name"): Limit(256, "graph"),
    }


def test_overlong_values_are_blocking_findings_that_never_show_a_persons_value() -> None:
    snap = tiny_snapshot()
    p_long, p_huge, p_emoji, p_fine = sorted(snap.persons)[:4]
    gid = sorted(snap.groups)[0]
    persons = dict(snap.persons)
    persons[p_long] = replace(persons[p_long], given_name="Q" * 100_000)
    persons[p_huge] = replace(persons[p_huge], family_name="Z" * 10_000_000)
    persons[p_emoji] = replace(persons[p_emoji], given_name="\U0001f600" * 40)  # 80 in UTF-16
    persons[p_fine] = replace(persons[p_fine], given_name="Å" * 64)
    groups = dict(snap.groups)
    groups[gid] = replace(groups[gid], name="Klass 7A " + "y" * 300)
    bad = replace(snap, persons=persons, groups=groups)
    limits = strictest(
        [("graph", {"person": {"given_name": 64, "family_name": 64}, "group": {"name": 256}})]
    )
    findings = check(bad, limits)
    by_id = {f.record_id: f for f in findings}
    assert set(by_id) == {p_long, p_huge, p_emoji, gid}
    assert all(f.blocking and f.code == "field.too_long" for f in findings)
    assert by_id[p_long].message.startswith("given name is 100,000 characters long;")
    assert "target graph accepts at most 64" in by_id[p_long].message
    assert by_id[p_huge].message.startswith("family name is 10,000,000 characters long;")
    assert by_id[p_emoji].message.startswith("given name is 80 characters long;")
    assert "(it begins 'Klass 7A yyyy" in by_id[gid].message
    for f in findings:
        assert "QQQQQ" not in f.message and "ZZZZZ" not in f.message
        assert len(f.message) < 300
    assert blocked_ids(findings)[1] == {p_long, p_huge, p_emoji}
    # validate runs the same check when given the limits, and none without them
    assert {f.record_id for f in validate(bad, limits) if f.code == "field.too_long"} == set(by_id)
    assert not [f for f in validate(bad) if f.code == "field.too_long"]


def test_a_snapshot_within_every_limit_has_no_finding() -> None:
    limits = strictest([("graph", {"person": {"given_name": 64}, "school": {"name": 256}})])
    assert check(tiny_snapshot(), limits) == []


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_length("Åsa") == 3
    assert utf16_length("a\U0001f600") == 3


def test_the_index_copy_cuts_overlong_names_and_says_how_long_they_were() -> None:
    snap = tiny_snapshot()
    pid = sorted(snap.persons)[0]
    persons = dict(snap.persons)
    persons[pid] = replace(persons[pid], given_name="Q" * 100_000)
    shown = shortened(replace(snap, persons=persons))
    name = shown.persons[pid].given_name
    assert len(name) <= 256 and name.endswith("(100,000 characters)")
    assert shortened(snap) is snap


async def test_a_run_keeps_hostile_values_away_from_its_target(workdir: Workdir) -> None:
    """Through the engine's runner to the memory target (limits of 1,000): a ten-megabyte
    name is blocked, control characters are removed, the rest of the run goes on."""
    from engine.ops import Ops

    snap, ids = hostile_snapshot()
    persons = dict(snap.persons)
    huge = sorted(p for p in persons if p not in ids.values())[0]
    persons[huge] = replace(persons[huge], given_name="H" * 10_000_000)
    workdir.source(replace(snap, persons=persons))
    async with await Ops.open(workdir.config, actor="test") as ops:
        summary = await ops.sync("alpha")
        findings = await ops.findings("alpha", limit=1000)
    assert summary.status == "succeeded", summary
    stored = workdir.target_state.read_bytes()
    assert b"HHHHHHHHHH" not in stored
    for c in HOSTILE:
        assert orjson.dumps(c)[1:-1] not in stored
    users = orjson.loads(stored)["objects"]["user"]
    assert huge not in users
    assert ids["person"] in users
    too_long = [f for f in findings if f.code == "field.too_long"]
    assert [(f.record_id, f.severity) for f in too_long] == [(huge, "blocking")]
    assert "given name is 10,000,000 characters long" in too_long[0].message
    assert "at most 1000" in too_long[0].message
    cleaned = {f.record_id for f in findings if f.code == "text.control_characters"}
    assert cleaned == {ids["person"], ids["group"], ids["school"], ids["staff"]}
    for f in findings:
        assert not CONTROL.search(f.message + f.fix + f.label)
        assert "HHHHHHHHHH" not in f.message + f.fix
        assert len(f.label) <= 600


def test_school_roles_keep_their_type() -> None:
    snap, _ = hostile_snapshot()
    clean_snap, _ = sanitize(snap)
    assert all(type(r) is SchoolRole for r in clean_snap.school_roles)


async def test_a_source_check_reports_what_a_run_would(workdir: Workdir) -> None:
    """``ess source check`` reads without a run: the same findings, from the targets' declared
    limits, with short labels."""
    from engine.ops import Ops

    snap, ids = hostile_snapshot()
    persons = dict(snap.persons)
    huge = sorted(p for p in persons if p not in ids.values())[0]
    persons[huge] = replace(persons[huge], family_name="H" * 10_000_000)
    workdir.source(replace(snap, persons=persons))
    async with await Ops.open(workdir.config, actor="test") as ops:
        check_result = await ops.source_check("alpha")
    by_code: dict[str, set[str]] = {}
    for f in check_result.findings:
        by_code.setdefault(f.code, set()).add(f.record_id)
        assert len(f.label) <= 600
        assert not CONTROL.search(f.message + f.fix + f.label)
    assert by_code["field.too_long"] == {huge}
    assert by_code["text.control_characters"] == {
        ids["person"],
        ids["group"],
        ids["school"],
        ids["staff"],
    }


def test_an_id_with_a_control_character_blocks_its_record() -> None:
    """An id cannot be cleaned (another id is another record): the record is kept out, and
    the message shows the id escaped."""
    snap = tiny_snapshot()
    gid = sorted(snap.groups)[0]
    bad_id = gid + "\x1b[2J"
    groups = {k: v for k, v in snap.groups.items() if k != gid}
    groups[bad_id] = replace(snap.groups[gid], id=bad_id)
    _, findings = sanitize(replace(snap, groups=groups))
    (finding,) = [f for f in findings if f.code == "text.control_characters_in_id"]
    assert (finding.record_type, finding.record_id, finding.blocking) == ("group", bad_id, True)
    assert "\x1b" not in finding.message and "\\x1b[2J" in finding.message
    assert blocked_ids(findings)[2] == {bad_id}
