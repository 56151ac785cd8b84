"""First sign-in through whole runs (engine.ops) against the Microsoft sandbox.

``passwords``: every new account gets a password it must change, the sandbox accepts a sign-in
with exactly the password in the school's decrypted list, the lists open with the named staff
member's key only, every list is audited without a password, and no password is in the journal
file or the run's log. ``federated``: nothing is handed over and no account is told to change
a password (the identity provider signs it in).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyrage
import pytest
from ms_support import SECRET_ENV, current_snapshot, pid, settings_for

from adapters.microsoft.sandbox import MicrosoftSandbox
from engine.hand_over import CSV_HEADER, NO_CLASS
from engine.testing.memory_source import write_snapshot


def write_config(workdir: Path, sb: MicrosoftSandbox, sign_in: str, hand_over: str) -> Path:
    settings = settings_for(sb.info, create_teams=False)
    lines = [
        "[journal]",
        'path = "ess.db"',
        "",
        "[tenants.alpha]",
        'source = { type = "memory", path = "snapshot.json" }',
        f'first_sign_in = "{sign_in}"',
        hand_over,
        "",
        "[tenants.alpha.targets.microsoft]",
        *(f"{k} = {json.dumps(v)}" for k, v in settings.items()),
    ]
    path = workdir / "ess.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_snapshot(current_snapshot(datetime.now(UTC).date()), workdir / "snapshot.json")
    return path


def hand_over_table(key: pyrage.x25519.Identity) -> str:
    return (
        f'hand_over = {{ staff = "Karin Rektor", public_key = "{key.to_public()}", '
        'folder = "lists" }'
    )


async def run(config: Path) -> tuple[Any, list[Any], list[str]]:
    from engine.ops import Ops

    ops = await Ops.open(config, actor="engineer.eva")
    try:
        result = await ops.sync("alpha")
        audit = await ops.journal.list_audit("alpha", 100)
        events = await ops.journal.list_events(result.id)
        return result, audit, [e.message for e in events]
    finally:
        await ops.close()


def read_list(path: Path, key: pyrage.x25519.Identity) -> list[dict[str, str]]:
    text = pyrage.decrypt(path.read_bytes(), [key]).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_HEADER
    return [dict(zip(CSV_HEADER, r, strict=True)) for r in rows[1:]]


@pytest.fixture
def workdir(tmp_path: Path, ms_sandbox: MicrosoftSandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(SECRET_ENV, ms_sandbox.info.client_secret)
    return tmp_path


async def test_passwords_are_handed_over_encrypted_and_sign_in_works(
    ms_sandbox: MicrosoftSandbox,
    workdir: Path,
    staff_key: pyrage.x25519.Identity,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(workdir, ms_sandbox, "passwords", hand_over_table(staff_key))
    result, audit, events = await run(config)
    assert result.status == "succeeded", result
    assert any("encrypted to Karin Rektor" in e for e in events)

    users = ms_sandbox.state()["users"]
    lists = sorted((workdir / "lists").glob("*.csv.age"))
    rows = [row for path in lists for row in read_list(path, staff_key)]
    # one row per account created, each with the account the sandbox holds
    assert sorted(r["account"] for r in rows) == sorted(u["userPrincipalName"] for u in users)
    for row in rows:
        # the sandbox took exactly this password, and the first sign-in must change it
        assert ms_sandbox.sign_in(row["account"], row["initial password"]) == "change"
        assert ms_sandbox.sign_in(row["account"], row["initial password"] + "x") == "refused"
    assert len({r["initial password"] for r in rows}) == len(rows)

    # pupils are listed by class; 7A holds the class's pupils
    klasses = {r["class"] for r in rows}
    assert "7A" in klasses and NO_CLASS in klasses  # teachers are in no class
    assert all(p.name.startswith("alpha-run") for p in lists)
    pdfs = sorted((workdir / "lists").glob("*.pdf.age"))
    assert len(pdfs) == len(lists)
    assert pyrage.decrypt(pdfs[0].read_bytes(), [staff_key]).startswith(b"%PDF")

    # only the staff member's key opens a list
    stranger = pyrage.x25519.Identity.generate()
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(lists[0].read_bytes(), [stranger])
    assert lists[0].stat().st_mode & 0o077 == 0

    # every list is audited: who, which class, how many; never a password
    handed = [a for a in audit if a.action == "password.hand_over"]
    assert len(handed) == len(lists)
    assert {a.actor for a in handed} == {"engineer.eva"}
    by_class = {r["class"]: 0 for r in rows}
    for r in rows:
        by_class[r["class"]] += 1
    for klass, n in by_class.items():
        assert any(f"class {klass}: {n} initial password(s)" in a.detail for a in handed)
    assert all("Karin Rektor" in a.detail for a in handed)

    # no password anywhere in the journal files, the logs or the output
    journal = b"".join(p.read_bytes() for p in workdir.glob("ess.db*"))
    out = capsys.readouterr()
    said = caplog.text + out.out + out.err + json.dumps([a.detail for a in audit] + events)
    for row in rows:
        secret = row["initial password"]
        assert secret.encode() not in journal
        assert secret not in said
    assert b"Karin Rektor" in journal  # the grep above reads the real journal


async def test_federated_hands_over_nothing_and_asks_no_change(
    ms_sandbox: MicrosoftSandbox, workdir: Path, staff_key: pyrage.x25519.Identity
) -> None:
    config = write_config(workdir, ms_sandbox, "federated", hand_over_table(staff_key))
    result, audit, _ = await run(config)
    assert result.status == "succeeded", result
    assert ms_sandbox.state()["users"]
    assert not (workdir / "lists").exists()
    assert not [a for a in audit if a.action == "password.hand_over"]
    store = ms_sandbox._require_service().store
    assert store.users and not any(u.force_change for u in store.users.values())


async def test_default_discards_and_hands_over_nothing(
    ms_sandbox: MicrosoftSandbox, workdir: Path
) -> None:
    """The earlier releases' behaviour: a random password nobody keeps, changed at first
    sign-in; no list, no hand-over audit."""
    config = write_config(workdir, ms_sandbox, "discard", "")
    result, audit, _ = await run(config)
    assert result.status == "succeeded", result
    store = ms_sandbox._require_service().store
    assert store.users and all(u.force_change for u in store.users.values())
    assert not list(workdir.rglob("*.age"))
    assert not [a for a in audit if a.action == "password.hand_over"]


def test_password_reset_hands_over_a_new_password_the_old_one_stops_working(
    ms_sandbox: MicrosoftSandbox, workdir: Path, staff_key: pyrage.x25519.Identity
) -> None:
    from typer.testing import CliRunner

    from console.cli import app

    config = write_config(workdir, ms_sandbox, "passwords", hand_over_table(staff_key))
    cli = CliRunner()
    base = ["--config", str(config), "--actor", "engineer.eva"]
    assert cli.invoke(app, [*base, "sync", "alpha"]).exit_code == 0
    first = {
        r["account"]: r["initial password"]
        for path in (workdir / "lists").glob("*-run*.csv.age")
        for r in read_list(path, staff_key)
    }
    pupil = pid(3)
    done = cli.invoke(app, [*base, "password", "reset", "alpha", pupil])
    assert done.exit_code == 0, done.output
    (listed,) = (workdir / "lists").glob("alpha-reset*.csv.age")
    ((row),) = read_list(listed, staff_key)
    assert row["account"] in done.output and row["initial password"] not in done.output
    assert ms_sandbox.sign_in(row["account"], row["initial password"]) == "change"
    assert ms_sandbox.sign_in(row["account"], first[row["account"]]) == "refused"
    audit = cli.invoke(app, [*base, "audit", "list", "alpha", "--json"])
    rows = json.loads(audit.output)
    assert any(a["action"] == "password_reset" and a["allowed"] for a in rows)
    assert any(
        a["action"] == "password.hand_over" and "reset: class no class: 1 initial" in a["detail"]
        for a in rows
    )
    assert row["initial password"] not in audit.output


def test_password_reset_is_refused_where_no_one_is_handed_passwords(
    ms_sandbox: MicrosoftSandbox, workdir: Path, staff_key: pyrage.x25519.Identity
) -> None:
    from typer.testing import CliRunner

    from console.cli import app

    config = write_config(workdir, ms_sandbox, "federated", hand_over_table(staff_key))
    cli = CliRunner()
    done = cli.invoke(app, ["--config", str(config), "password", "reset", "alpha", pid(3)])
    assert done.exit_code != 0
    assert 'first_sign_in = "federated"' in done.output
    assert not (workdir / "lists").exists()


@pytest.mark.parametrize("os_account", ["eva", "mallory"])
async def test_a_reset_is_shown_once_only_to_an_engineer_allowed(
    os_account: str,
    ms_sandbox: MicrosoftSandbox,
    workdir: Path,
    staff_key: pyrage.x25519.Identity,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import engine.ops
    from engine.ops import Ops, PolicyRefused

    table = hand_over_table(staff_key).replace(" }", ', show_to = ["eva"] }')
    config = write_config(workdir, ms_sandbox, "passwords", table)
    await run(config)
    first = {
        r["account"]: r["initial password"]
        for path in (workdir / "lists").glob("*.csv.age")
        for r in read_list(path, staff_key)
    }
    # the OS account running the command (this test runs as whichever user CI uses)
    monkeypatch.setattr(engine.ops, "os_user", lambda: (os_account, False))
    ops = await Ops.open(config, actor=engine.ops.os_actor("cli"))
    try:
        if os_account == "mallory":
            with pytest.raises(PolicyRefused, match=r"not in hand_over\.show_to"):
                await ops.password_reset("alpha", pid(3), show=True)
            account = next(
                u["userPrincipalName"]
                for u in ms_sandbox.state()["users"]
                if (u.get("student") or {}).get("externalId") == pid(3)
            )
            assert ms_sandbox.sign_in(account, first[account]) == "change"  # untouched
            audit = await ops.journal.list_audit("alpha", 20)
            assert any(a.action == "password_reset" and not a.allowed for a in audit)
            return
        done = await ops.password_reset("alpha", pid(3), show=True)
        audit = await ops.journal.list_audit("alpha", 20)
    finally:
        await ops.close()
    (item,) = done.shown
    assert ms_sandbox.sign_in(item.account, item.password) == "change"
    assert ms_sandbox.sign_in(item.account, first[item.account]) == "refused"
    assert not list((workdir / "lists").glob("alpha-reset*"))  # shown, not written
    shown = [a for a in audit if a.action == "password.shown"]
    assert len(shown) == 1 and "cli:eva" in shown[0].detail
    assert item.password not in shown[0].detail and item.password not in repr(done)
    journal = b"".join(p.read_bytes() for p in workdir.glob("ess.db*"))
    assert item.password.encode() not in journal


def test_show_refuses_a_pipe(
    ms_sandbox: MicrosoftSandbox, workdir: Path, staff_key: pyrage.x25519.Identity
) -> None:
    from typer.testing import CliRunner

    from console.cli import app

    config = write_config(workdir, ms_sandbox, "passwords", hand_over_table(staff_key))
    done = CliRunner().invoke(
        app, ["--config", str(config), "password", "reset", "alpha", pid(3), "--show"]
    )
    assert done.exit_code == 2 and "terminal only" in done.output


@pytest.mark.parametrize("writable", [True, False])
async def test_target_check_says_whether_the_lists_can_be_written(
    writable: bool, ms_sandbox: MicrosoftSandbox, workdir: Path, staff_key: pyrage.x25519.Identity
) -> None:
    from engine.ops import Ops

    config = write_config(workdir, ms_sandbox, "passwords", hand_over_table(staff_key))
    if not writable:
        (workdir / "lists").write_text("a file where the folder should be")
    ops = await Ops.open(config, actor="test")
    try:
        (check,) = await ops.target_check("alpha")
    finally:
        await ops.close()
    (line,) = [i for i in check.items if i.item == "first sign-in"]
    if writable:
        assert line.status == "ok" and "Karin Rektor" in line.detail
        assert list((workdir / "lists").iterdir()) == []  # the probe is gone again
    else:
        assert line.status == "missing" and "not writable" in line.detail and line.fix


async def test_an_approved_held_plan_lists_its_new_pupils_by_class(
    ms_sandbox: MicrosoftSandbox, workdir: Path, staff_key: pyrage.x25519.Identity
) -> None:
    """An approved plan is applied without reading the source again: the classes come from
    the run's member links and the index."""
    from engine.ops import Ops

    config = write_config(workdir, ms_sandbox, "passwords", hand_over_table(staff_key))
    await run(config)
    growth = "\n[tenants.alpha.policy.guard]\nmin_base = 0\ngrowth = { share = 0.0, count = 0 }\n"
    config.write_text(config.read_text() + growth, encoding="utf-8")
    write_snapshot(
        current_snapshot(datetime.now(UTC).date(), extra_pupils=3), workdir / "snapshot.json"
    )
    ops = await Ops.open(config, actor="test")
    try:
        held = await ops.sync("alpha")
        assert held.status == "held"
        assert not list((workdir / "lists").glob(f"*-run{held.id}-*"))
        done = await ops.approve(held.id)
    finally:
        await ops.close()
    assert done.status == "succeeded"
    (listed,) = (workdir / "lists").glob(f"alpha-run{held.id}-*.csv.age")
    rows = read_list(listed, staff_key)
    assert [r["class"] for r in rows] == ["7A"] * 3
    for r in rows:
        assert ms_sandbox.sign_in(r["account"], r["initial password"]) == "change"
