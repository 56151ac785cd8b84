"""Bad and hostile files: each is one clear error naming the file and the place (or a
finding), never a traceback, and nothing of a broken read is used."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from ims_helpers import read_path, school_file, write

from adapters.ims.parse import read_records
from engine.source import SourceError

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<enterprise><person><sourcedid><id>&lol3;</id></sourcedid></person></enterprise>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<enterprise><person><sourcedid><id>&x;</id></sourcedid></person></enterprise>"""
DTD_FETCH = b"""<?xml version="1.0"?>
<!DOCTYPE enterprise SYSTEM "http://127.0.0.1:9/ims.dtd">
<enterprise/>"""


@pytest.mark.parametrize("body", [LAUGHS, EXTERNAL, DTD_FETCH], ids=["laughs", "xxe", "dtd"])
def test_a_document_type_declaration_is_refused_naming_the_file(body: bytes) -> None:
    with pytest.raises(SourceError, match=r"^evil\.xml: the file declares a document type"):
        list(read_records(io.BytesIO(body), "evil.xml"))


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "the file is empty"),
        (b"<enterprise><person><sourcedid><id>a</id></sourc", "line 1, column"),
        (b"<enterprise>\n<person>\n</group></enterprise>", "line 3"),
        ("<enterprise><person>å</person></enterprise>".encode("latin-1"), "encoding"),
        (b"<html><body/></html>", "not an IMS Enterprise <enterprise>"),
        (b"\x00\x01\x02garbage", "cut.xml"),
    ],
    ids=["empty", "truncated", "mismatched", "wrong-encoding", "not-ims", "binary"],
)
def test_a_file_that_is_not_well_formed_is_one_clear_error(body: bytes, says: str) -> None:
    with pytest.raises(SourceError) as caught:
        list(read_records(io.BytesIO(body), "cut.xml"))
    message = str(caught.value)
    assert message.startswith("cut.xml") and says in message


def test_a_bom_and_a_declared_latin1_encoding_read_as_text(tmp_path: Path) -> None:
    text = school_file().replace("Ekskolan", "Åsskolan")
    bom = write(tmp_path, "a.xml", "\ufeff" + text)
    latin = text.replace('encoding="utf-8"', 'encoding="iso-8859-1"')
    latin1 = write(tmp_path, "b.xml", latin, encoding="latin-1")
    assert read_path(bom).snapshot.schools["U1"].name == "Åsskolan"
    assert read_path(latin1).snapshot.schools["U1"].name == "Åsskolan"


def test_a_broken_delta_stops_the_whole_read(tmp_path: Path) -> None:
    """Nothing of a read with a broken file is used: the delta is not half applied."""
    write(tmp_path, "0001-full.xml", school_file())
    write(tmp_path, "0002-delta.xml", school_file(kind="Delta")[:-40])
    with pytest.raises(SourceError, match=r"0002-delta\.xml line \d+, column \d+"):
        read_path(tmp_path)


def test_a_zip_of_exports_is_read_in_name_order(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("b/0002-delta.xml", school_file(kind="Delta").replace("Ekskolan", "Nya"))
        zf.writestr("a/0001-full.xml", school_file())
        zf.writestr("readme.txt", "not read")
    assert read_path(archive).snapshot.schools["U1"].name == "Nya"


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("org.xml", b"<enterprise>" + b" " * (20 * 1024 * 1024) + b"</enterprise>")
    with pytest.raises(SourceError, match=r"bomb\.zip: org\.xml unpacks \d+ times"):
        read_path(archive)


def test_a_zip_larger_than_the_configured_bound_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("org.xml", school_file() + " " * (2 * 1024 * 1024))
    with pytest.raises(SourceError, match="more than 1048576"):
        read_path(archive, max_unpacked_mb=1)


def test_a_zip_that_lies_about_its_size_is_stopped_as_it_unpacks(tmp_path: Path) -> None:
    archive = tmp_path / "liar.zip"
    body = school_file().encode()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("org.xml", body)
    raw = bytearray(archive.read_bytes())
    small = (len(body) // 2).to_bytes(4, "little")
    # the central directory's uncompressed size: what zipfile believes
    at = raw.rfind(b"PK\x01\x02")
    raw[at + 24 : at + 28] = small
    archive.write_bytes(bytes(raw))
    with pytest.raises(SourceError, match=r"liar\.zip!org\.xml: (unpacks to more|cannot be)"):
        read_path(archive)


def test_a_missing_path_and_an_empty_folder_are_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file or folder"):
        read_path(tmp_path / "nope")
    with pytest.raises(SourceError, match=r"holds no \.xml files"):
        read_path(tmp_path)
