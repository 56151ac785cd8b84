"""The SS 12000 sandbox as the source of ``ess demo``: a generated municipality served over
HTTP, which the demo advances a term between its two syncs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.kit.sandbox import demo_secret
from adapters.ss12000.sample.generate import generate
from engine.plugins import DemoOptions

from . import SandboxSettings, SS12000Sandbox


class SS12000Demo:
    name = "ss12000"
    role = "source"

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        # Generated a week back, so that the term's changes can take effect today.
        today = datetime.now(UTC).date()
        dataset = generate(options.size, options.seed, today - timedelta(days=7))
        self.sandbox = SS12000Sandbox(
            dataset, settings=SandboxSettings(latency_ms=options.latency_ms, seed=options.seed)
        )
        self.info = self.sandbox.start()

    def settings(self) -> dict[str, Any]:
        secret = demo_secret(self.options.workdir, "ss12000", self.info.client_secret)
        return {
            "type": "ss12000",
            "profile": self.info.profile,
            "base_url": self.info.base_url,
            "token_url": self.info.token_url,
            "client_id": self.info.client_id,
            "client_secret": secret,
        }

    def describe(self) -> str:
        return f"SS 12000 sandbox: {self.info.base_url} (token {self.info.token_url})"

    def advance(self, kind: str) -> dict[str, int]:
        before = _stamps(self.sandbox.dataset.entities)
        self.sandbox.advance(kind, as_of=datetime.now(UTC).date())
        after = _stamps(self.sandbox.dataset.entities)
        out: dict[str, int] = {}
        for entity, now in after.items():
            was = before.get(entity, {})
            out[f"new {entity}"] = len(now.keys() - was.keys())
            out[f"changed {entity}"] = sum(1 for k, m in now.items() if k in was and was[k] != m)
            out[f"removed {entity}"] = len(was.keys() - now.keys())
        return {k: v for k, v in out.items() if v}

    def summary(self) -> dict[str, int]:
        return {e: len(objs) for e, objs in self.sandbox.dataset.entities.items()}

    def stop(self) -> None:
        self.sandbox.stop()


def _stamps(entities: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {
        e: {o["id"]: (o.get("meta") or {}).get("modified") for o in objs}
        for e, objs in entities.items()
    }


def start_demo(options: DemoOptions) -> SS12000Demo:
    return SS12000Demo(options)
