"""Helpers of the rekey tests: the configuration, the CLI, and the new source's own ids."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from typer.testing import CliRunner

from console.cli import app

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NEW_IDS = uuid.UUID("6f1c1d1e-0000-4000-8000-000000000017")

CONFIG = """\
[journal]
path = "ess.db"

[privacy]
civic_key = "file:civic.key"

[tenants.lovsta]
name = "Lövsta kommun"
source = {source}
{rekey}
[tenants.lovsta.policy]
max_attempts = 2
retry_base_s = 0.01
retry_max_s = 0.05

[tenants.lovsta.targets.mem]
type = "memory"
state = "target.json"
"""

IMS = '{{ type = "ims", path = "{path}" }}'
SS12000 = '{{ type = "ss12000", path = "{path}", parallel_read = false }}'


def ess(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout + result.stderr


def new_ids(text: str) -> str:
    """Every UUID replaced by another (the same one each time): a new source's own ids."""
    return UUID.sub(lambda m: str(uuid.uuid5(NEW_IDS, m.group(0))), text)


def write_config(tmp_path: Path, source: str, rekey_from: str | None = None) -> Path:
    (tmp_path / "civic.key").write_text("a-civic-key-of-the-test-1234", encoding="utf-8")
    rekey = f"\n[tenants.lovsta.rekey]\nfrom = {rekey_from}\n" if rekey_from else ""
    config = tmp_path / "ess.toml"
    config.write_text(CONFIG.format(source=source, rekey=rekey), encoding="utf-8")
    return config
