"""What a sandbox does as a part of ``ess demo``: hand its throw-away secret to the config."""

from __future__ import annotations

from pathlib import Path


def demo_secret(workdir: Path, name: str, value: str) -> str:
    """Write ``value`` to ``workdir/secrets/<name>-client-secret`` (0600) and return the secret
    reference the demo's ess.toml uses, so the config never holds the secret itself."""
    folder = workdir / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-client-secret"
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return f"file:secrets/{path.name}"
