"""A tenant's files outside the journal, for ``ess journal delete-tenant`` and
``export-tenant``: the uploads of its on-site agent in an ingest's inbox folder, the
first-sign-in hand-over lists, and what each target keeps on disk under the tenant's name (an
SDS delivery folder).

Where they are is in the tenant's tables of ess.toml, which a tenant being deleted no longer
has: the caller gives a copy of ess.toml that still holds them. What ESS cannot reach from
there (an inbox on the ingest's machine, an on-site agent's own disk) is said, not guessed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine import plugins
from engine.config import TenantConfig
from engine.hand_over import HAND_OVER_BATCHES

NOT_LOOKED_FOR = (
    "files outside the journal were not looked for: name a copy of ess.toml that still "
    "holds [tenants.{tenant}] (--former-config) to remove its inbox uploads, hand-over lists "
    "and target folders"
)
ELSEWHERE = (
    "the on-site agent's own machine keeps its own copy; an ingest inbox on another machine "
    "than this one is not reached (remove tenants/{tenant} there)"
)


@dataclass(frozen=True)
class TenantFiles:
    """The files and folders that hold the tenant's data, and what could not be reached."""

    found: tuple[Path, ...]
    not_reached: tuple[str, ...]


def _inbox_files(inbox: Path, tenant_id: str) -> Iterator[Path]:
    """The tenant's latest upload (``tenants/<tenant>``) and its unfinished ones."""
    own = inbox / "tenants" / tenant_id
    if own.exists():
        yield own
    partial = inbox / "partial"
    if not partial.is_dir():
        return
    for note in sorted(partial.glob("*.json")):
        try:
            meta = json.loads(note.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get("tenant") == tenant_id:
            yield note
            part = note.with_suffix(".part")
            if part.exists():
                yield part


def _resolved(base_dir: Path, value: object) -> Path:
    p = Path(str(value)).expanduser()
    return p if p.is_absolute() else base_dir / p


def find_tenant_files(tenant_id: str, tenant: TenantConfig, base_dir: Path) -> TenantFiles:
    """Every file the tenant's tables point at that holds its data (paths relative to
    ``base_dir``, the folder of the ess.toml they came from)."""
    found: list[Path] = []
    not_reached: list[str] = []
    for settings in tenant.source_tables().values():
        if settings.get("type") == "agent":
            if settings.get("inbox"):
                found += _inbox_files(_resolved(base_dir, settings["inbox"]), tenant_id)
            not_reached.append(ELSEWHERE.format(tenant=tenant_id))
    if tenant.hand_over is not None:
        folder = _resolved(base_dir, tenant.hand_over.folder)
        if folder.is_dir():
            for batch in HAND_OVER_BATCHES:
                found += sorted(folder.glob(f"{tenant_id}-{batch}[0-9]*"))
    for name, settings in tenant.targets.items():
        try:
            cls = plugins.target_class(str(settings.get("type", name)))
        except plugins.PluginError as exc:
            not_reached.append(f"target {name}: {exc}; its files were not looked for")
            continue
        found += [p for p in cls.tenant_files(settings, base_dir) if p.exists()]
    return TenantFiles(tuple(dict.fromkeys(found)), tuple(dict.fromkeys(not_reached)))


def remove_tenant_files(files: TenantFiles) -> tuple[list[str], list[str]]:
    """Remove each file and folder found; returns those removed and the problems met."""
    removed: list[str] = []
    problems: list[str] = []
    for path in files.found:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            problems.append(f"{path} could not be removed: {exc.strerror or exc}")
            continue
        removed.append(str(path))
    return removed, problems
