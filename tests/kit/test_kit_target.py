"""The kit's service target (built from its table: config, client, consistency window) and
the drift read every drift-reading target's refresh does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from adapters.kit.target import ServiceTarget, read_drift_into
from engine.config import TenantPolicy
from engine.model import Snapshot
from engine.secrets import SecretResolver
from engine.target import Batch, DesiredState, ObservedState, Outcome, TargetContext


class _Config(BaseModel):
    url: str
    consistency_window_s: float = 5.0


class _Target(ServiceTarget[_Config, str]):
    config_model = _Config

    @staticmethod
    def build_client(config: _Config, secrets: SecretResolver) -> str:
        return f"client of {config.url}"

    def desired(self, snapshot: Snapshot) -> DesiredState:
        raise NotImplementedError

    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        raise NotImplementedError


def test_from_config_validates_builds_the_client_and_takes_the_window(tmp_path: Any) -> None:
    policy = TenantPolicy()
    target = _Target.from_config("t", {"url": "https://x"}, policy, SecretResolver(tmp_path))
    assert (target.name, target.client, target.policy) == ("t", "client of https://x", policy)
    assert target.config == _Config(url="https://x")
    assert target.consistency_window_s == 5.0


@dataclass
class _Report:
    any: bool

    def summary(self) -> str:
        return "1 changed"


def _observed() -> ObservedState:
    return ObservedState(objects={}, links={})


def _ctx(said: list[tuple[str, str]]) -> TargetContext:
    return TargetContext(tenant="t", run_id=1, emit=lambda level, text: said.append((level, text)))


async def _reads(state: ObservedState, found: bool) -> tuple[ObservedState, _Report]:
    return state, _Report(found)


async def _fails() -> tuple[ObservedState, _Report]:
    raise ConnectionError("down")


@pytest.mark.parametrize("found", [True, False])
async def test_drift_found_is_the_corrected_mirror_else_the_mirror(found: bool) -> None:
    said: list[tuple[str, str]] = []
    observed, corrected = _observed(), _observed()
    got = await read_drift_into(
        observed, _ctx(said), _reads(corrected, found), ConnectionError, "Svc"
    )
    assert got is (corrected if found else observed)
    assert said == ([("warning", "drift: 1 changed")] if found else [])


async def test_an_unreadable_service_keeps_the_mirror_and_says_so() -> None:
    said: list[tuple[str, str]] = []
    observed = _observed()
    got = await read_drift_into(observed, _ctx(said), _fails(), ConnectionError, "Svc")
    assert got is observed
    assert said == [("error", "cannot read Svc to look for drift: down")]
