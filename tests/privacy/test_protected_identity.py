"""Once a person is protected, no view shows their real name or account name, not even of the
runs from before: explain (desired, observed, operations), a run's operations, one operation
with its attempts, and the open failures; through the facade and the command line."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict

from protected_support import names_of, protected_after_sync
from typer.testing import CliRunner

from console.cli import app
from engine.ops import Ops
from engine.redact import pseudonym
from tests.conftest import Workdir


def _leaks(text: str, names: list[str]) -> list[str]:
    return [n for n in names if n in text]


async def test_the_facade_shows_only_the_pseudonym_for_past_runs_too(workdir: Workdir) -> None:
    person = await protected_after_sync(workdir)
    names = names_of(person)
    async with await Ops.open(workdir.config, actor="test") as ops:
        ex = await ops.explain("alpha", "person", person.id)
        first_run_ops = await ops.operations(1, limit=10_000)
        mine = [o for o in first_run_ops if person.id in (o.key, o.parent)]
        details = [await ops.operation(o.id) for o in mine]
        failures = await ops.failures("alpha")
    assert ex.observed and ex.operations  # there is something to mask
    assert ex.label == pseudonym(person.id)
    assert mine and all(o.label == pseudonym(person.id) for o in mine)
    shown = json.dumps(
        [asdict(ex), [asdict(o) for o in mine], [asdict(d) for d in details]]
        + [asdict(f) for f in failures if person.id in (f.key, f.parent)],
        default=str,
        ensure_ascii=False,
    )
    assert not _leaks(shown, names)
    # others are not masked: the first run still names the pupils who are not protected
    assert any(o.label not in (o.key, pseudonym(o.key)) for o in first_run_ops)


def test_the_command_line_shows_only_the_pseudonym(workdir: Workdir) -> None:
    person = asyncio.run(protected_after_sync(workdir))
    runner = CliRunner()
    printed: list[str] = []
    for args in (
        ["explain", "alpha", "person", person.id],
        ["explain", "alpha", "person", person.id, "--json"],
        ["search", person.id],
    ):
        result = runner.invoke(app, ["--config", str(workdir.config), *args])
        assert result.exit_code == 0, (args, result.output)
        printed.append(result.output)
    assert not _leaks("\n".join(printed), names_of(person))
    assert pseudonym(person.id) in printed[0]
