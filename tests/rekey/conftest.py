"""A municipality synced from an IMS export, and the same municipality from the SS 12000 API's
folder form with ids of its own, for the rekey tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.rekey.rekey_support import ess, new_ids


@pytest.fixture(scope="session")
def ims_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small sample municipality as an IMS export (its SS 12000 form in ``.ss12000``)."""
    out = tmp_path_factory.mktemp("rekey") / "ims"
    code, shown = ess("sample", "generate", "--format", "ims", "--size", "40", "--out", str(out))
    assert code == 0, shown
    return out


@pytest.fixture
def ss12000_copy(ims_sample: Path, tmp_path: Path) -> Callable[..., Path]:
    """The same municipality as an SS 12000 folder whose every id differs from the export's;
    ``edit`` may change the persons' JSON text first."""

    def make(edit: Callable[[str], str] = lambda t: t) -> Path:
        folder = tmp_path / "ss12000"
        shutil.copytree(ims_sample / ".ss12000", folder)
        for f in folder.glob("*.json"):
            text = new_ids(f.read_text(encoding="utf-8"))
            if f.name == "persons.json":
                text = edit(text)
            f.write_text(text, encoding="utf-8")
        return folder

    return make
