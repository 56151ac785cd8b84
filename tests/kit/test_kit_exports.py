"""The files of an export: one file, a folder in name order, or a zip; each a clear error
when it cannot be had."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from adapters.kit.exports import ZipLimits, export_files
from engine.source import SourceError


def names(path: Path, limits: ZipLimits | None = None) -> list[str]:
    return [Path(f.name.split("!")[-1]).name for f in export_files(path, (".csv",), limits)]


def test_a_folder_gives_its_files_of_the_suffix_in_name_order(tmp_path: Path) -> None:
    for name in ("b.csv", "a.CSV", ".hidden.csv", "c.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub.csv").mkdir()
    assert names(tmp_path) == ["a.CSV", "b.csv"]


def test_one_file_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_text("x")
    (export,) = export_files(path, (".csv",))
    with export.open() as stream:
        assert stream.read() == b"x"


def test_a_zip_gives_its_members_in_name_order_read_as_they_unpack(tmp_path: Path) -> None:
    archive = tmp_path / "e.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("z/users.csv", "u")
        zf.writestr("orgs.csv", "o")
        zf.writestr("__MACOSX/._orgs.csv", "junk")
        zf.writestr("manifest.txt", "m")
    files = export_files(archive, (".csv",))
    assert [f.name.split("!")[1] for f in files] == ["orgs.csv", "z/users.csv"]
    with files[1].open() as stream:
        assert stream.read() == b"u"


def test_a_zip_with_too_many_files_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(5):
            zf.writestr(f"{i}.csv", "x")
    with pytest.raises(SourceError, match="holds 5 files, more than 4"):
        export_files(archive, (".csv",), ZipLimits(max_members=4))


def test_a_broken_zip_is_named(tmp_path: Path) -> None:
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SourceError, match=r"broken\.zip: not a zip file"):
        export_files(archive, (".csv",))
