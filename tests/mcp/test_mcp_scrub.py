"""The defensive scrub: personnummer-like numbers never leave, other numbers stay intact."""

from __future__ import annotations

import json

import pytest
from mcp_fake_ops import LEAKY_NUMBER, UUID_WITH_DIGITS, FakeOps
from mcp_support import ClientFactory, everything_text

from server.scrub import PERSONNUMMER, scrub, scrub_text


@pytest.mark.parametrize(
    "text",
    [
        "civicNo 200501021234 rejected",
        "pnr 20050102-1234.",
        "samordningsnummer 199012621234",
        "(050102-1234)",
        "19900101+1234",
        "200501021234",
        "pnr200501021234",
        "user_20050102-1234",
    ],
)
def test_personnummer_like_numbers_are_redacted(text: str):
    out = scrub_text(text)
    assert "[redacted]" in out
    assert not PERSONNUMMER.search(out)
    assert "1234" not in out


@pytest.mark.parametrize(
    "text",
    [
        UUID_WITH_DIGITS,
        "12345678-1234-4234-8234-123456789012",
        "run 200501021234567 has many digits",
        "phone 0701234567",
        "2025-08-18T06:00:00+00:00",
        "code 209913991234",  # month 13 is no date
    ],
)
def test_other_numbers_are_left_alone(text: str):
    assert scrub_text(text) == text


def test_scrub_keeps_the_shape_of_data():
    data = {"a": [LEAKY_NUMBER, 1, None, {"k": f"x {LEAKY_NUMBER}"}], LEAKY_NUMBER: True}
    assert scrub(data) == {"a": ["[redacted]", 1, None, {"k": "x [redacted]"}], "[redacted]": True}


async def test_no_tool_resource_or_prompt_lets_the_number_through(
    fake: FakeOps, connect: ClientFactory
):
    """The fake facade puts the number into events, findings, errors and a source record."""
    fake.d.elevated.update({"beta", "gamma"})
    calls: list[tuple[str, dict[str, object]]] = [
        ("list_tenants", {}),
        ("tenant_status", {"tenant": "alpha"}),
        ("list_runs", {"tenant": "alpha"}),
        ("get_run", {"run_id": 3}),
        ("list_failures", {"limit": 100}),
        ("list_findings", {"tenant": "alpha"}),
        ("list_held_plans", {}),
        ("search_run_log", {"run_id": 3, "limit": 200, "level": "error"}),
        ("find_person", {"query": "nils"}),
        ("find_group", {"query": "7a"}),
        ("explain_record", {"tenant": "alpha", "record_type": "person", "key": "p-102"}),
        ("tenant_status", {"tenant": f"x{LEAKY_NUMBER}"}),
        ("start_sync", {"tenant": "alpha"}),
        ("retry_items", {"item_ids": [102]}),
    ]
    outputs: list[str] = []
    async with connect(fake, allow_writes=True) as client:
        assert {t.name for t in (await client.list_tools()).tools} >= {c for c, _ in calls}
        for name, args in calls:
            outputs.append(everything_text(await client.call_tool(name, args)))
        for uri in ("ess://tenants", "ess://tenants/alpha", "ess://runs/3", "ess://runs/3/log"):
            outputs.append(everything_text(await client.read_resource(uri)))
        outputs.append(
            everything_text(await client.get_prompt("troubleshoot_tenant", {"tenant": "alpha"}))
        )
    joined = "\n".join(outputs)
    assert "[redacted]" in joined  # the number was there, and was caught
    assert LEAKY_NUMBER not in joined
    assert not PERSONNUMMER.search(joined)
    assert UUID_WITH_DIGITS in joined  # and ids were not mangled
    assert json.loads(outputs[0])  # outputs are JSON dumps of the results
