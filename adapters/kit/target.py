"""A target that reaches one service through one client: what every such target does to be
built from its ``[tenants.NAME.targets.X]`` table."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Mapping
from typing import Any, Generic, Protocol, Self, TypeVar

from adapters.kit.http import HttpClient
from engine.config import TenantPolicy
from engine.secrets import SecretResolver
from engine.target import ObservedState, TargetBase, TargetContext

ConfigT = TypeVar("ConfigT")
ClientT = TypeVar("ClientT")


class ServiceTarget(TargetBase, Generic[ConfigT, ClientT]):
    """``from_config`` validates the table with ``config_model``, builds the client with
    ``build_client`` and the target with ``(name, config, policy, client)``; the config's
    ``consistency_window_s``, when it has one, is the target's."""

    def __init__(self, name: str, config: ConfigT, policy: Any, client: ClientT) -> None:
        self.name = name
        self.config = config
        self.policy = policy
        self.client = client
        self.consistency_window_s = float(getattr(config, "consistency_window_s", 0.0))

    @classmethod
    def from_config(
        cls, name: str, settings: Mapping[str, Any], policy: TenantPolicy, secrets: SecretResolver
    ) -> Self:
        config = cls.config_model.model_validate(dict(settings))
        return cls(name, config, policy, cls.build_client(config, secrets))

    @staticmethod
    @abstractmethod
    def build_client(config: Any, secrets: SecretResolver) -> Any:
        """The service's client for ``config``, its secrets resolved."""

    def traffic(self) -> Mapping[str, int]:
        """What the client's kit :class:`~adapters.kit.http.HttpClient` (``client.http``)
        counted: requests, retries and 429s."""
        http = getattr(self.client, "http", None)
        stats = http.stats if isinstance(http, HttpClient) else None
        if stats is None:
            return {}
        return {"requests": stats.requests, "retries": stats.retries, "throttled": stats.throttled}


class DriftReport(Protocol):
    @property
    def any(self) -> bool: ...

    def summary(self) -> str: ...


async def read_drift_into(
    observed: ObservedState,
    ctx: TargetContext,
    reading: Awaitable[tuple[ObservedState, DriftReport]],
    unreachable: type[BaseException] | tuple[type[BaseException], ...],
    service: str,
) -> ObservedState:
    """What ``refresh`` returns for a target that reads drift: the mirror corrected by
    ``reading`` when it found drift (said as a warning); the mirror as it is when nothing
    differed, or when ``service`` could not be read whole (one of ``unreachable``, said as an
    error)."""
    try:
        corrected, report = await reading
    except unreachable as exc:
        ctx.emit("error", f"cannot read {service} to look for drift: {exc}")
        return observed
    if not report.any:
        return observed
    ctx.emit("warning", f"drift: {report.summary()}")
    return corrected
