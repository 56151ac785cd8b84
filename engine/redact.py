"""How people appear outside the engine: labels and records with no personnummer, and protected
identities masked unless the tenant's policy says to include them as they are."""

from __future__ import annotations

from typing import Any

from engine.model import Group, Person, School

PROTECTED_LABEL = "Skyddad identitet"


MASKED = "***"
HIDDEN_ERROR = "(hidden: the message may name a protected identity)"


def pseudonym(person_id: str) -> str:
    """What every view shows of a masked protected identity: the label and a short id."""
    return f"{PROTECTED_LABEL} ({person_id[:8]})"


def person_label(p: Person, protected_identity: str) -> str:
    if p.is_protected and protected_identity != "include":
        return pseudonym(p.id)
    return p.display_name


def masked_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes ESS wrote or read for a person before they were protected, with every text
    in them masked (names, account names, addresses); flags, numbers and dates of absence
    are kept, so a view still shows what state the object is in."""

    def mask(value: Any) -> Any:
        if isinstance(value, str):
            return MASKED
        if isinstance(value, list | tuple):
            return [mask(v) for v in value]
        if isinstance(value, dict):
            return {k: mask(v) for k, v in value.items()}
        return value

    return {k: mask(v) for k, v in attrs.items()}


def person_record(p: Person, protected_identity: str) -> dict[str, Any]:
    """A person as support may see it: never the civic number; names and addresses of a
    protected identity masked unless the policy includes them."""
    masked = p.is_protected and protected_identity != "include"
    return {
        "id": p.id,
        "givenName": MASKED if masked else p.given_name,
        "familyName": MASKED if masked else p.family_name,
        "eduPersonPrincipalNames": [MASKED] if masked and p.eppns else list(p.eppns),
        "emails": [MASKED] if masked and p.emails else list(p.emails),
        "protectedIdentity": p.protection.value,
        "civicNo": "(held for matching only, never shown)" if p.civic_no else None,
    }


def group_record(g: Group) -> dict[str, Any]:
    return {
        "id": g.id,
        "displayName": g.name,
        "groupType": g.group_type.value,
        "school": g.school_id,
        "schoolType": g.school_type,
        "startDate": g.start.isoformat() if g.start else None,
        "endDate": g.end.isoformat() if g.end else None,
        "subject": g.subject,
    }


def school_record(s: School) -> dict[str, Any]:
    return {
        "id": s.id,
        "displayName": s.name,
        "schoolUnitCode": s.school_unit_code,
        "parent": s.parent_id,
        "schoolTypes": list(s.school_types),
    }
