"""Every event's message, word for word: what a notice says is pinned here, so that how the
messages are built can change without a receiver seeing any difference."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.journal import ElevationRecord, NoticeRecord, RunRecord
from engine.notify.messages import (
    Message,
    compose,
    compose_elevation,
    compose_standalone,
)
from engine.notify.messages import (
    test_message as notify_test_message,
)

AT = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)


def notice(kind: str, detail: str = "") -> NoticeRecord:
    return NoticeRecord(17, "north", kind, 42, 5, AT, detail)


def run(counts: dict[str, int], guard: dict[str, object] | None = None) -> RunRecord:
    return RunRecord(
        42, "north", "held", "schedule", "ess", False, ("ms",), AT, None, counts,
        guard or {}, "token endpoint refused the login", "full",
    )  # fmt: skip


def elevation(*, needs_approval: bool, approved_by: str | None) -> ElevationRecord:
    return ElevationRecord(
        5, "north", "support@provider", "ticket 88", AT, datetime(2026, 12, 8, 1, 30, tzinfo=UTC),
        needs_approval, approved_by, AT if approved_by else None, False,
    )  # fmt: skip


WHO = "Norra skolan (north)"
HELD_GUARD = {"removals": {"users": 40, "groups": 3}, "reasons": ["removals above 5%", "x"]}

EXPECTED: dict[str, Message] = {
    "plan_held": Message(
        "ess.north.17.hook", "plan_held", "north", 42, AT,
        f"{WHO}: a plan is held for approval",
        "The guard held run 42: it would change more than the tenant's policy allows at once. "
        "Nothing was applied, and every scheduled sync of this tenant waits until someone "
        "approves or rejects the plan.",
        (("tenant", WHO), ("run", "42"), ("planned operations", "120"),
         ("removals of groups", "3"), ("removals of users", "40"),
         ("held because", "removals above 5%"), ("held because", "x")),
        "ess approve 42 --reason '...'   (or: ess reject 42)",
    ),
    "run_failed": Message(
        "ess.north.17.hook", "run_failed", "north", 42, AT,
        f"{WHO}: the run failed",
        "Run 42 stopped before it finished: a source or target could not be read, refused the "
        "login, or the run was interrupted. The next scheduled run tries again.",
        (("tenant", WHO), ("run", "42"), ("error", "token endpoint refused the login")),
        "ess show 42",
    ),
    "failed_items": Message(
        "ess.north.17.hook", "failed_items", "north", 42, AT,
        f"{WHO}: 5 item(s) failed",
        "Run 42 finished, but some items could not be applied; the rest of the run went "
        "through.",
        (("tenant", WHO), ("run", "42"), ("failed items", "3"), ("blocked items", "2")),
        "ess failures north",
    ),
    "elevation_requested": Message(
        "ess.north.17.hook", "elevation_requested", "north", None, AT,
        f"{WHO}: elevation 5 requested",
        "Support asked for the right to write to this tenant: it needs a customer approver's "
        "approval first.",
        (("tenant", WHO), ("elevation", "5"), ("asked by", "support@provider"),
         ("reason", "ticket 88"), ("until", "2026-12-08 01:30 UTC")),
        "ess elevation approve 5 --approver 'NAME'",
    ),
    "elevation_requested_silver": Message(
        "ess.north.17.hook", "elevation_requested", "north", None, AT,
        f"{WHO}: elevation 5 requested",
        "Support asked for the right to write to this tenant.",
        (("tenant", WHO), ("elevation", "5"), ("asked by", "support@provider"),
         ("reason", "ticket 88"), ("until", "2026-12-08 01:30 UTC")),
        "",
    ),
    "elevation_approved": Message(
        "ess.north.17.hook", "elevation_approved", "north", None, AT,
        f"{WHO}: elevation 5 approved",
        "Anna Berg approved the elevation: support may write to this tenant until it expires.",
        (("tenant", WHO), ("elevation", "5"), ("asked by", "support@provider"),
         ("reason", "ticket 88"), ("until", "2026-12-08 01:30 UTC"), ("approved by", "Anna Berg")),
        "",
    ),
    "audit_head": Message(
        "ess.north.17.hook", "audit_head", "north", None, AT,
        f"{WHO}: the ESS audit log's head",
        "Keep this message: it is the audit log's newest row as of 2026-12-07 21:30 UTC. Anyone "
        "who can change the ESS host could rewrite the log, but not this copy; checking the log "
        "against it shows whether any row up to it was edited, removed or cut.",
        (("tenant", WHO), ("head", "812:ab{c}d")),
        "ess audit verify --head 812:ab{c}d",
    ),
    "credential_expiring": Message(
        "ess.north.17.hook", "credential_expiring", "north", None, AT,
        f"{WHO}: a credential runs out soon",
        "A credential ESS signs in with runs out soon; when it has, every sync of this target "
        "stops at the sign-in. Renew it before then.",
        (("tenant", WHO), ("credential", "ms client secret, 2026-12-20")),
        "ess target check north",
    ),
    "approver_changed": Message(
        "ess.north.17.hook", "approver_changed", "north", None, AT,
        f"{WHO}: a customer approver's key was changed",
        "An approver's key decides who can approve support's gold elevations for this tenant. If "
        "you did not ask for this change, tell your ESS provider at once.",
        (("tenant", WHO), ("change", "enrolled Anna Berg")),
        "ess approver list north",
    ),
    "test": Message(
        "ess.north.test-n0.hook", "test", "north", None, AT,
        "Norra skolan: test notification",
        "A test from ESS through the channel 'hook'. Held plans and failed runs of this tenant "
        "will be reported here.",
        (("tenant", "north"), ("channel", "hook")),
        "",
    ),
}  # fmt: skip


def rendered(case: str) -> Message:
    name, channel = "Norra skolan", "hook"
    if case == "plan_held":
        return compose(notice("plan_held"), run({"planned": 120}, HELD_GUARD), name, channel, case)
    if case == "run_failed":
        return compose(notice(case), run({"planned": 9}), name, channel, case)
    if case == "failed_items":
        failed = run({"planned": 9, "done": 4, "failed": 3, "blocked": 2})
        return compose(notice("run_partial"), failed, name, channel, case)
    if case.startswith("elevation_requested"):
        gold = elevation(needs_approval=case == "elevation_requested", approved_by=None)
        return compose_elevation(notice(case), gold, name, channel, "elevation_requested")
    if case == "elevation_approved":
        approved = elevation(needs_approval=True, approved_by="Anna Berg")
        return compose_elevation(notice(case), approved, name, channel, case)
    if case == "test":
        return notify_test_message("north", name, channel, AT, "n0")
    return compose_standalone(notice(case, EXPECTED[case].facts[1][1]), name, channel, case)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_every_events_message_says_exactly_this(case: str) -> None:
    assert rendered(case) == EXPECTED[case]


def test_a_tenant_named_by_its_id_is_not_named_twice() -> None:
    message = compose(notice("run_failed"), run({}), "north", "mail", "run_failed")
    assert message.title == "north: the run failed"
    assert message.facts[0] == ("tenant", "north")
    assert message.key == "ess.north.17.mail"


def test_names_from_outside_are_said_as_they_are_even_with_braces() -> None:
    message = compose(notice("run_failed"), run({}), "Skola {run}", "mail", "run_failed")
    assert message.title == "Skola {run} (north): the run failed"
    approved = elevation(needs_approval=True, approved_by="{who} {0}")
    said = compose_elevation(notice("x"), approved, "north", "mail", "elevation_approved")
    assert said.text.startswith("{who} {0} approved the elevation")
