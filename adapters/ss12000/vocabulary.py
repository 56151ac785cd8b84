"""SS 12000:2020 code lists (v2.0 and v2.1) that the mapping interprets."""

from __future__ import annotations

from engine.model import GroupType, Protection

ENTITIES: tuple[str, ...] = ("organisations", "persons", "duties", "groups", "activities")

# endpoint -> the word a support engineer sees in a finding, and the EndPointsEnum value
KIND: dict[str, str] = {
    "organisations": "organisation",
    "persons": "person",
    "duties": "duty",
    "groups": "group",
    "activities": "activity",
}
OBJECT_TYPE: dict[str, str] = {
    "organisations": "Organisation",
    "persons": "Person",
    "duties": "Duty",
    "groups": "Group",
    "activities": "Activity",
}
# keys of /deletedEntities data; the published spec spells activities "activitites"
DELETED_KEYS: dict[str, str] = {
    "organisations": "organisations",
    "persons": "persons",
    "duties": "duties",
    "groups": "groups",
    "activities": "activities",
    "activitites": "activities",
}

SKOLENHET = "Skolenhet"
ORGANISATION_TYPES = frozenset(
    {
        "Huvudman",
        "Verksamhetsområde",
        "Förvaltning",
        "Rektorsområde",
        "Skola",
        "Skolenhet",
        "Varumärke",
        "Bolag",
        "Övrigt",
        "Stadsdel",  # v2.0
    }
)

SCHOOL_TYPES = frozenset(
    (
        "FS",
        "FKLASS",
        "FTH",
        "OPPFTH",
        "GR",
        "GRS",
        "TR",
        "SP",
        "SAM",
        "GY",
        "GYS",
        "VUX",
        "VUXSFI",
        "VUXGR",
        "VUXGY",
        "VUXSARGR",
        "VUXSARTR",
        "VUXSARGY",
        "SFI",
        "SARVUX",
        "SARVUXGR",
        "SARVUXGY",
        "KU",
        "YH",
        "FHS",
        "STF",
        "KKU",
        "HS",
        "ABU",
        "AU",
    )
)

DUTY_ROLES = frozenset(
    {
        "Rektor",
        "Lärare",
        "Förskollärare",
        "Barnskötare",
        "Bibliotekarie",
        "Lärarassistent",
        "Fritidspedagog",
        "Annan personal",
        "Studie- och yrkesvägledare",
        "Förstelärare",
        "Kurator",
        "Skolsköterska",
        "Skolläkare",
        "Skolpsykolog",
        "Speciallärare/specialpedagog",
        "Skoladministratör",
        "Övrig arbetsledning",
        "Övrig pedagogisk personal",
        "Förskolechef",
    }
)
TEACHER_ROLES = frozenset(
    {"Lärare", "Förstelärare", "Speciallärare/specialpedagog", "Förskollärare"}
)

ASSIGNMENT_ROLES = frozenset(
    {
        "Mentor",
        "Förskollärare",
        "Barnskötare",
        "Fritidspedagog",
        "Specialpedagog",
        "Elevhälsopersonal",
        "Pedagogisk ledare",
        "Schemaläggare",
        "Lärarassistent",
        "Administrativ personal",
    }
)
MENTOR = "Mentor"

ACTIVITY_TYPES = frozenset(
    {"Undervisning", "Elevaktivitet", "Provaktivitet", "Läraraktivitet", "Övrigt"}
)
EMAIL_TYPES = frozenset({"Privat", "Skola elev", "Skola personal", "Arbete övrigt"})
PRIVATE_EMAIL = "Privat"

GROUP_TYPES: dict[str, GroupType] = {g.value: g for g in GroupType}
PROTECTION: dict[str, Protection] = {p.value: p for p in Protection}
GROUP_TYPE_NAMES = frozenset(GROUP_TYPES)
SECURITY_MARKINGS = frozenset(PROTECTION)
