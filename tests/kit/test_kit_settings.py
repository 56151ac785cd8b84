"""Settings change all or nothing, over HTTP and from the command line's strings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import httpx
import pytest
from kit_support import Counter, CounterSettings, served

from adapters.kit.sandbox import KitSettings, SettingsError, apply_changes, changes_from_strings


@dataclass
class Fixed(KitSettings):
    FIXED: ClassVar[frozenset[str]] = frozenset({"profile"})

    profile: str = "a"
    paging: bool = True


def test_one_bad_field_refuses_the_whole_change_and_names_it() -> None:
    counter = Counter()
    with served(counter) as (base, _), httpx.Client(base_url=base) as http:
        bad = http.post(
            "/_sandbox/settings", json={"latency_ms": 5, "limit": "many", "fault_rate": 0.5}
        )
        negative = http.post("/_sandbox/settings", json={"window_s": -1})
        unknown = http.post("/_sandbox/settings", json={"no_such": 1})
        too_high = http.post("/_sandbox/settings", json={"fault_rate": 2})
        zero_scale = http.post("/_sandbox/settings", json={"time_scale": 0})
        not_json = http.post("/_sandbox/settings", content=b"{")
        now = http.get("/_sandbox/settings").json()
    assert bad.status_code == 400
    assert "'limit'" in bad.json()["error"]
    assert "'window_s'" in negative.json()["error"]
    assert "no_such" in unknown.json()["error"]
    assert "fault_rate" in too_high.json()["error"]
    assert "time_scale" in zero_scale.json()["error"]
    assert not_json.status_code == 400
    assert (now["latency_ms"], now["fault_rate"], now["window_s"]) == (0.0, 0.0, 10.0)
    assert counter.settings == CounterSettings()


def test_fault_kinds_must_be_known_to_the_sandbox() -> None:
    settings = CounterSettings()
    with pytest.raises(SettingsError, match="fault_kinds"):
        apply_changes(settings, {"fault_kinds": ["5xx", "meteor"]})
    assert settings.fault_kinds == CounterSettings().fault_kinds


def test_fixed_fields_change_only_before_the_sandbox_runs() -> None:
    settings = Fixed()
    with pytest.raises(SettingsError, match="fixed"):
        apply_changes(settings, {"profile": "b", "latency_ms": 3})
    assert (settings.profile, settings.latency_ms) == ("a", 0.0)
    apply_changes(settings, {"profile": "b"}, running=False)
    assert settings.profile == "b"


def test_strings_from_the_command_line_are_typed_like_the_fields() -> None:
    changes = changes_from_strings(
        Fixed, {"latency_ms": "2.5", "seed": "-3", "paging": "false", "fault_kinds": "5xx,timeout"}
    )
    assert changes == {
        "latency_ms": 2.5,
        "seed": -3,
        "paging": False,
        "fault_kinds": ["5xx", "timeout"],
    }
    with pytest.raises(SettingsError, match="no_such"):
        changes_from_strings(Fixed, {"no_such": "1"})
    with pytest.raises(SettingsError, match="needs a number"):
        changes_from_strings(Fixed, {"latency_ms": "fast"})
    with pytest.raises(SettingsError, match="true or false"):
        changes_from_strings(Fixed, {"paging": "maybe"})
