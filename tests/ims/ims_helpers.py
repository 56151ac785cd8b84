"""Helpers for the IMS tests: a source that keeps nothing between reads, small IMS
documents written by hand in the TK450 form, and a read of a path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from adapters.ims.config import ImsConfig
from adapters.ims.source import ImsSource
from engine.source import CachedSource, SourceContext, SourceRead

AS_OF = date(2025, 9, 15)
TK450 = "http://tk450.se/ims/enterprise/extension/v1"


class NoCache:
    async def load(self) -> CachedSource:
        return CachedSource({}, None, None)

    async def save(
        self,
        *,
        upserts: Mapping[str, Mapping[str, bytes]],
        deletes: Mapping[str, Iterable[str]],
        checkpoint: str,
        full: bool,
    ) -> None:
        return None


def read_path(path: Path, today: date = AS_OF, **settings: object) -> SourceRead:
    config = ImsConfig.model_validate({"path": str(path), **settings})
    ctx = SourceContext("t", NoCache(), today)
    return asyncio.run(ImsSource(config).read(ctx))


def person(
    pid: str,
    given: str = "Ada",
    family: str = "Berg",
    *,
    civic: str = "201001019876",
    privacy: str = "None",
    email: str = "",
    recstatus: str = "",
) -> str:
    rs = f' recstatus="{recstatus}"' if recstatus else ""
    mail = f"<email>{email}</email>" if email else "<email />"
    return f"""<person{rs}>
    <sourcedid><id>{pid}</id></sourcedid>
    <userid useridtype="GUID">{pid}</userid>
    <userid useridtype="PID">{civic}</userid>
    <name><fn>{given} {family}</fn><n><family>{family}</family><given>{given}</given></n></name>
    {mail}
    <institutionrole primaryrole="Yes" institutionroletype="Student" />
    <extension>
      <person_extension xmlns="{TK450}">
        <privacy>{privacy}</privacy>
        <email_work />
        <school_unit_code>U1</school_unit_code>
      </person_extension>
    </extension>
  </person>"""


def group(
    gid: str,
    type_value: str,
    name: str,
    *,
    begin: str = "2025-08-01",
    end: str = "2026-06-30",
    ext: str = "",
    recstatus: str = "",
) -> str:
    rs = f' recstatus="{recstatus}"' if recstatus else ""
    extension = f'<extension><group_extension xmlns="{TK450}">{ext}</group_extension></extension>'
    return f"""<group{rs}>
    <sourcedid><id>{gid}</id></sourcedid>
    <grouptype><typevalue>{type_value}</typevalue></grouptype>
    <description><short>{name}</short></description>
    <timeframe><begin>{begin}</begin><end>{end}</end></timeframe>
    {extension if ext else ""}
  </group>"""


def member(
    mid: str,
    role: str,
    *,
    idtype: str = "Person",
    begin: str = "2025-08-01",
    end: str = "2026-06-30",
    school_year: str = "",
    recstatus: str = "",
) -> str:
    rs = f' recstatus="{recstatus}"' if recstatus else ""
    year = f"<school_year>{school_year}</school_year>" if school_year else ""
    return f"""<member>
      <sourcedid><id>{mid}</id></sourcedid>
      <idtype>{idtype}</idtype>
      <role roletype="{role}"{rs}>
        <timeframe><begin>{begin}</begin><end>{end}</end></timeframe>
        <extension><membership_extension xmlns="{TK450}">{year}</membership_extension></extension>
      </role>
    </member>"""


def membership(gid: str, *members: str) -> str:
    return f"""<membership>
    <sourcedid><id>{gid}</id></sourcedid>
    {"".join(members)}
  </membership>"""


def document(*records: str, kind: str = "Full", encoding: str = "utf-8") -> str:
    return f"""<?xml version="1.0" encoding="{encoding}"?>
<enterprise xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <properties>
    <datasource>LSM, GR</datasource>
    <type>{kind}</type>
    <datetime>2025-09-14 22:00:00</datetime>
  </properties>
  {"".join(records)}
</enterprise>
"""


UNIT_EXT = "<school_unit_code>12345678</school_unit_code><school_type>GR</school_type>"


def school_file(*extra: str, kind: str = "Full") -> str:
    """A unit (U1, code 12345678) with a class (C1) of two pupils and a teacher, a teaching
    group (E1) with one pupil, and a contact group that ESS does not sync."""
    return document(
        person("P1", "Ada", "Berg", civic="201001019876"),
        person("P2", "Bo", "Ek", civic="201002029875"),
        person("T1", "Cay", "Lind", civic="197003039874", email="cay.lind@skola.example"),
        group("U1", "Unit", "Ekskolan", begin="", end="", ext=UNIT_EXT),
        group("C1", "Class", "7A", ext="<school_year>7</school_year>"),
        group("E1", "EducationGroup", "MA7", ext="<course_code>GRGRMAT01</course_code>"),
        group("CG1", "ContactGroup", "201001019876"),
        membership(
            "U1",
            member("C1", "Class", idtype="Group"),
            member("E1", "EducationGroup", idtype="Group"),
            member("P1", "Student", school_year="7"),
            member("P2", "Student", school_year="7"),
            member("T1", "Instructor"),
        ),
        membership(
            "C1", member("P1", "Student"), member("P2", "Student"), member("T1", "Instructor")
        ),
        membership("E1", member("P1", "Learner"), member("T1", "Instructor")),
        membership("CG1", member("P1", "Guardian")),
        *extra,
        kind=kind,
    )


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path
