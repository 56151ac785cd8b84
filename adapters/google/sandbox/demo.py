"""The Google Workspace sandbox as a part of ``ess demo``: the demo tenant syncs to it beside
Microsoft 365, with a Directory group of each school's students and staff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.plugins import DemoOptions

from . import GoogleSandbox
from .settings import SandboxSettings

DOMAIN = "demo.skola.se"
# Google's quotas (3,000 Classroom calls a minute per project) would make the demo's first sync
# take three minutes: the sandbox runs its clock 20 times faster, every quota window and delay
# alike, and ESS is told the same window, so the counts and the pacing stay Google's.
TIME_SCALE = 0.05


def _key_reference(workdir: Path, key_file: str) -> str:
    """Copy the sandbox's throw-away service-account key under ``secrets/`` (0600) and return
    the secret reference the demo's ess.toml uses, so the config never holds the key."""
    folder = workdir / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "google-service-account.json"
    path.write_text(Path(key_file).read_text(encoding="utf-8"), encoding="utf-8")
    path.chmod(0o600)
    return f"file:secrets/{path.name}"


class GoogleDemo:
    name = "google"
    role = "target"

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.sandbox = GoogleSandbox(
            settings=SandboxSettings(
                domain=DOMAIN, latency_ms=options.latency_ms, time_scale=TIME_SCALE
            ),
            workdir=options.workdir / "sandbox-google",
        )
        self.info = self.sandbox.start()

    def settings(self) -> dict[str, Any]:
        return {
            "type": "google",
            "domain": self.info.domain,
            "service_account_key": _key_reference(self.options.workdir, self.info.key_file),
            "admin_subjects": list(self.info.admin_subjects),
            "root_url": self.info.root_url,
            "batch_url": self.info.batch_url,
            "verify": self.info.ca_path,
            "school_groups": True,
            "consistency_window_s": 1.0,
            "quota_window_s": 60.0 * TIME_SCALE,
        }

    def describe(self) -> str:
        return (
            f"Google Workspace sandbox: Directory and Classroom {self.info.root_url}, "
            f"token {self.info.token_uri} (quotas on a clock {1 / TIME_SCALE:.0f} times faster)"
        )

    def advance(self, kind: str) -> dict[str, int]:
        return {}

    def summary(self) -> dict[str, int]:
        state = self.sandbox.state()
        users = [u for u in state["users"] if not u.get("isAdmin")]
        courses = state["courses"]
        return {
            "users": len(users),
            "suspended users": sum(1 for u in users if u.get("suspended")),
            "org units": len(state["orgunits"]),
            "groups": len(state["groups"]),
            "group members": sum(len(g["members"]) for g in state["groups"]),
            "courses": len(courses),
            "archived courses": sum(1 for c in courses if c["courseState"] == "ARCHIVED"),
            "course teachers": sum(len(c["teachers"]) for c in courses),
            "course students": sum(len(c["students"]) for c in courses),
        }

    def stop(self) -> None:
        self.sandbox.stop()


def start_demo(options: DemoOptions) -> GoogleDemo:
    return GoogleDemo(options)
