"""The SCIM sandbox as a part of ``ess demo``: a SCIM service of the core profile."""

from __future__ import annotations

from typing import Any

from adapters.kit.sandbox import demo_secret
from engine.plugins import DemoOptions

from . import ScimSandbox
from .settings import SandboxSettings


class ScimDemo:
    name = "scim"
    role = "target"

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.sandbox = ScimSandbox(
            settings=SandboxSettings(latency_ms=options.latency_ms),
            workdir=options.workdir / "sandbox-scim",
        )
        self.info = self.sandbox.start()

    def settings(self) -> dict[str, Any]:
        token = demo_secret(self.options.workdir, "scim", self.info.bearer_token)
        return {
            "type": "scim",
            "base_url": self.info.base_url,
            "profile": "core",
            "token": token,
            "verify": self.info.ca_path,
        }

    def describe(self) -> str:
        return f"SCIM service (scim2-server, core profile): {self.info.base_url}"

    def advance(self, kind: str) -> dict[str, int]:
        return {}

    def summary(self) -> dict[str, int]:
        users = self.sandbox.resources("User")
        groups = self.sandbox.resources("Group")
        return {
            "users": len(users),
            "inactive users": sum(1 for u in users if u.get("active") is False),
            "groups": len(groups),
            "group members": sum(len(g.get("members") or ()) for g in groups),
        }

    def stop(self) -> None:
        self.sandbox.stop()


def start_demo(options: DemoOptions) -> ScimDemo:
    return ScimDemo(options)
