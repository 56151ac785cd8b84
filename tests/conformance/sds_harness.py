"""The SDS feed's conformance harness: the target uploads through the SDS sandbox over real
HTTPS on loopback (token endpoint, industryData calls, SAS blob container), with faults on the
Graph calls and the blob uploads, and the truth read from what the sandbox's SDS holds: the
records of the last validated set are live, those missing from it inactive (SDS's own
deactivation, the feed's "suspended").

Declared inapplicable: ``adopt_existing`` (nothing in SDS is made by hand: it holds only what
files bring) and, through ``reads_drift = False``, ``drift``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.sds.columns import BY_NAME
from adapters.sds.config import SdsConfig
from adapters.sds.mapping import build_rows
from adapters.sds.rules import check
from adapters.sds.sandbox import SdsSandbox
from engine.config import TenantPolicy
from engine.model import Snapshot
from engine.roster import RosterPolicy
from engine.testing.conformance import Drift, Fault, TrueState, Wanted
from tests.conformance.shared_sandboxes import shared, stop

SECRET_ENV = "ESS_TEST_SDS_SECRET"
HANG_S = 0.6  # a timeout fault holds the request this long, then answers 504 ...
CLIENT_TIMEOUT_S = 0.4  # ... and the client gives up first: the call's fate is unknown
KINDS = {
    Fault.SERVER_ERROR: "5xx",
    Fault.SERVER_ERROR_APPLIED: "applied_5xx",
    Fault.TIMEOUT: "timeout",
}

ONE_PASS = (
    "a file feed delivers one set a run, so a run passes this point once, never a second "
    "time; tests/sds/test_sds_crash.py kills the run at the first pass of every point"
)


def shared_sandbox() -> SdsSandbox:
    """One sandbox for the whole session, started on first use."""
    return shared("sds", SdsSandbox)


def stop_shared() -> None:
    stop("sds")


def table_for(sb: SdsSandbox, folder: Path, **overrides: Any) -> dict[str, Any]:
    info = sb.info
    assert info is not None
    table: dict[str, Any] = {
        "type": "sds",
        "delivery": "upload",
        "folder": str(folder),
        "tenant_id": info.tenant_id,
        "client_id": info.client_id,
        "client_secret": f"env:{SECRET_ENV}",
        "data_connector_id": info.data_connector_id,
        "graph_url": info.graph_url,
        "token_url": info.token_url,
        "verify": info.ca_path,
        "timeout_s": 5.0,
        "poll_interval_s": 0.02,
        "validate_timeout_s": 5.0,
    }
    table.update(overrides)
    return table


class SdsHarness:
    name = "sds"
    inapplicable: Mapping[str, str] = {
        "adopt_existing": "SDS holds only what the files bring; no record is made there by hand",
        **{
            f"crash_{point.replace(':', '_')}": ONE_PASS
            for point in ("after_mark:2", "after_apply:2", "before_record:2", "after_record:3")
        },
    }

    def __init__(self, sandbox: SdsSandbox, base: Path) -> None:
        self.sb = sandbox
        self.base = base
        self.timeouts = False
        self.revoked = False
        sandbox.reset()

    def table(self) -> dict[str, Any]:
        timeout = CLIENT_TIMEOUT_S if self.timeouts else 5.0
        return table_for(self.sb, self.base / "sds", timeout_s=timeout)

    def env(self) -> dict[str, str]:
        return {SECRET_ENV: "revoked~secret" if self.revoked else self.sb.client_secret}

    def faults(self, mix: Mapping[Fault, float], *, seed: int = 0) -> None:
        s = self.sb.settings
        kinds = tuple(KINDS[f] for f in mix if f in KINDS)
        s.fault_rate = sum(r for f, r in mix.items() if f in KINDS)
        s.fault_kinds = kinds or ("5xx",)
        s.timeout_hang_s = HANG_S
        s.seed = seed
        throttled = Fault.THROTTLE in mix
        s.requests_per_window = 3 if throttled else 0
        s.window_s = 0.5
        self.timeouts = Fault.TIMEOUT in mix
        self.revoked = Fault.TENANT in mix

    def throttle_record(self) -> tuple[int, int]:
        stats = self.sb.stats()
        return int(stats["throttled"]), int(stats["early_retries"])

    def truth(self) -> TrueState:
        state = self.sb.state()
        live: dict[str, dict[str, Any]] = {}
        present: dict[str, frozenset[str]] = {}
        suspended: dict[str, frozenset[str]] = {}
        copies: Counter[str] = Counter()
        for name, records in state["records"].items():
            kind = BY_NAME[name].kind
            live[kind] = {k: r["row"] for k, r in records.items() if r["active"]}
            present[kind] = frozenset(records)
            suspended[kind] = frozenset(k for k, r in records.items() if not r["active"])
            for k in records:
                copies[f"{kind}:{k}"] += 1
        return TrueState(live=live, present=present, suspended=suspended, copies=dict(copies))

    def wanted(self, snap: Snapshot) -> Wanted:
        config = SdsConfig.model_validate(self.table())
        checked = check(build_rows(snap, config, RosterPolicy.of(TenantPolicy())), 500_000)
        return Wanted({k: dict(v) for k, v in checked.rows.by_kind.items()}, {})

    def make_by_hand(self, snap: Snapshot) -> str:
        raise NotImplementedError("declared inapplicable: nothing is made in SDS by hand")

    def drift(self, snap: Snapshot) -> Drift:
        raise NotImplementedError("declared inapplicable: a file feed reads no drift")

    async def aclose(self) -> None:
        return None
