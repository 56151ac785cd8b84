"""The engine's finding for a group without a teacher, as targets raise it."""

from __future__ import annotations

from engine.findings import Finding, Severity, group_without_teacher


def test_group_without_teacher_is_a_warning_on_the_group() -> None:
    finding = group_without_teacher("course", "g1", "9A Ma", "it waits", "add one", "google")
    assert finding == Finding(
        code="course_without_teacher",
        severity=Severity.WARNING,
        record_type="group",
        record_id="g1",
        message="group '9A Ma' has no teacher; it waits",
        fix="add one",
        origin="google",
    )
    assert not finding.blocking
