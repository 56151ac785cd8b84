"""The hand-over on its own: configuration errors name the key, a list that cannot be written
drops its passwords and is audited as failed, and the lists group pupils by class."""

from __future__ import annotations

from pathlib import Path

import pyrage
import pytest

from engine.config import ConfigError, load
from engine.first_sign_in import ALPHABET, HandOverConfig, InitialPasswords, new_password
from engine.hand_over import NO_CLASS, class_names, hand_over
from engine.journal.sqlite import SqliteJournal

BASE = """\
[journal]
path = "ess.db"

[tenants.nacka]
source = { type = "memory", path = "s.json" }
first_sign_in = "passwords"
HAND_OVER

[tenants.nacka.targets.mem]
type = "memory"
"""


def problems(tmp_path: Path, hand_over_line: str) -> list[str]:
    path = tmp_path / "ess.toml"
    path.write_text(BASE.replace("HAND_OVER", hand_over_line), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    return [str(p) for p in info.value.problems]


def test_passwords_without_a_hand_over_is_refused(tmp_path: Path) -> None:
    (got,) = problems(tmp_path, "")
    assert "tenants.nacka" in got and "needs a [hand_over] table" in got


def test_a_key_that_is_not_an_age_key_is_named(tmp_path: Path) -> None:
    line = 'hand_over = { staff = "Karin", public_key = "ssh-ed25519 AAAA", folder = "x" }'
    (got,) = problems(tmp_path, line)
    assert "tenants.nacka.hand_over.public_key" in got and "age public key" in got


def test_passwords_are_strong_and_differ() -> None:
    made = {new_password() for _ in range(200)}
    assert len(made) == 200
    for p in made:
        assert len(p) == 14 and set(p) <= set(ALPHABET)
        assert any(c.isupper() for c in p) and any(c.islower() for c in p)
        assert any(c.isdigit() for c in p) and any(not c.isalnum() for c in p)
        assert not set(p) & set("0O1lI")
        assert p[0].isalpha()  # never read as a formula by a spreadsheet


def test_class_names_add_the_school_only_where_two_classes_share_a_name() -> None:
    got = class_names(
        {"g1": ("7A", "Norrskolan"), "g2": ("7A", "Söderskolan"), "g3": ("8B", "Norrskolan")},
        [("g1", "p1"), ("g2", "p2"), ("g3", "p3"), ("other", "p4")],
    )
    assert got == {"p1": "7A Norrskolan", "p2": "7A Söderskolan", "p3": "8B"}


async def test_an_unwritable_folder_drops_the_passwords_and_audits_the_failure(
    tmp_path: Path,
) -> None:
    key = pyrage.x25519.Identity.generate()
    config = HandOverConfig(staff="Karin", public_key=str(key.to_public()), folder="x")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    passwords = InitialPasswords("passwords")
    initial = passwords.initial()
    passwords.created("microsoft", "p1", "Anna Svensson", "anna@skola.example", initial)
    said: list[tuple[str, str]] = []
    journal = await SqliteJournal.open(tmp_path / "ess.db")
    try:
        handed = await hand_over(
            journal,
            tenant="nacka",
            run_id=7,
            actor="scheduler",
            passwords=passwords,
            class_of={},
            config=config,
            folder=blocked / "lists",
            emit=lambda level, text: said.append((level, text)),
        )
        (row,) = await journal.list_audit("nacka", 10)
    finally:
        await journal.close()
    assert handed == []
    assert passwords.issued() == []  # not kept for later: reset in the service instead
    ((level, text),) = said
    assert level == "error" and "anna@skola.example" in text and "reset" in text
    assert initial.password not in text
    assert row.action == "password.hand_over" and not row.allowed and "failed" in row.detail


async def test_lists_group_by_class_and_open_with_the_key(tmp_path: Path) -> None:
    key = pyrage.x25519.Identity.generate()
    config = HandOverConfig(staff="Karin", public_key=str(key.to_public()), folder="x")
    passwords = InitialPasswords("passwords")
    for n in range(3):
        passwords.created("m", f"p{n}", f"Elev {n}", f"e{n}@s.example", passwords.initial())
    passwords.created("m", "p9", "=HYPERLINK(1)", "x@s.example", passwords.initial())
    journal = await SqliteJournal.open(tmp_path / "ess.db")
    try:
        handed = await hand_over(
            journal,
            tenant="nacka",
            run_id=3,
            actor="eva",
            passwords=passwords,
            class_of={"p0": "7A", "p1": "7A"},
            config=config,
            folder=tmp_path / "lists",
            emit=lambda level, text: None,
        )
    finally:
        await journal.close()
    assert [(h.klass, h.count) for h in handed] == [("7A", 2), (NO_CLASS, 2)]
    text = pyrage.decrypt(handed[0].files[0].read_bytes(), [key]).decode("utf-8-sig")
    assert "Elev 0" in text and "Elev 1" in text and "Elev 2" not in text
    other = pyrage.decrypt(handed[1].files[0].read_bytes(), [key]).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in other
