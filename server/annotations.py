"""Tool annotations, set once so every tool states its effects the same truthful way."""

from __future__ import annotations

from mcp.types import ToolAnnotations


def read_only(title: str) -> ToolAnnotations:
    """Reads the journal only: no change anywhere, same answer until the next run."""
    return ToolAnnotations(
        title=title,
        read_only_hint=True,
        destructive_hint=False,
        idempotent_hint=True,
        open_world_hint=False,
    )


def write(
    title: str, *, destructive: bool, idempotent: bool, reaches_targets: bool
) -> ToolAnnotations:
    """Changes the journal, and (when ``reaches_targets``) the tenant's cloud services."""
    return ToolAnnotations(
        title=title,
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=reaches_targets,
    )
