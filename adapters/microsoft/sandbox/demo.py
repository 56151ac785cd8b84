"""The Microsoft sandbox as a part of ``ess demo``."""

from __future__ import annotations

from typing import Any

from adapters.kit.sandbox import demo_secret
from engine.plugins import DemoOptions

from .server import MicrosoftSandbox
from .settings import SandboxSettings


class MicrosoftDemo:
    name = "microsoft"
    role = "target"

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.sandbox = MicrosoftSandbox(
            settings=SandboxSettings(latency_ms=options.latency_ms, team_operation_delay_s=0.2),
            workdir=options.workdir / "sandbox-microsoft",
        )
        self.info = self.sandbox.start()

    def settings(self) -> dict[str, Any]:
        secret = demo_secret(self.options.workdir, "microsoft", self.info.client_secret)
        return {
            "type": "microsoft",
            "tenant_id": self.info.tenant_id,
            "client_id": self.info.client_id,
            "client_secret": secret,
            "authority": self.info.authority,
            "graph_url": self.info.graph_url,
            "verify": self.info.ca_path,
            "domain": "demo.skola.se",
            "team_poll_interval_s": 0.5,
            "team_retry_s": 1.0,
        }

    def describe(self) -> str:
        return (
            f"Microsoft 365 sandbox: Graph {self.info.graph_url}, authority {self.info.authority}"
        )

    def advance(self, kind: str) -> dict[str, int]:
        return {}

    def summary(self) -> dict[str, int]:
        state = self.sandbox.state()
        groups = state["groups"]
        classes = [g for g in groups if g.get("isClass")]
        return {
            "users": len(state["users"]),
            "disabled users": sum(1 for u in state["users"] if u.get("accountEnabled") is False),
            "schools": len(state["schools"]),
            "classes": len(classes),
            "class members": sum(len(g.get("members", ())) for g in classes),
            "class owners": sum(len(g.get("owners", ())) for g in classes),
            "teams": len(state["teams"]),
            "archived teams": sum(1 for t in state["teams"] if t.get("isArchived")),
        }

    def stop(self) -> None:
        self.sandbox.stop()


def start_demo(options: DemoOptions) -> MicrosoftDemo:
    return MicrosoftDemo(options)
