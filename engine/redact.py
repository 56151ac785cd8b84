"""How people appear outside the engine: labels and records with no personnummer, and protected
identities masked unless the tenant's policy says to include them as they are."""

from __future__ import annotations

from typing import Any

from engine.model import Group, Person, School

PROTECTED_LABEL = "Skyddad identitet"


def person_label(p: Person, protected_identity: str) -> str:
    if p.is_protected and protected_identity != "include":
        return f"{PROTECTED_LABEL} ({p.id[:8]})"
    return p.display_name


def person_record(p: Person, protected_identity: str) -> dict[str, Any]:
    """A person as support may see it: never the civic number; names and addresses of a
    protected identity masked unless the policy includes them."""
    masked = p.is_protected and protected_identity != "include"
    return {
        "id": p.id,
        "givenName": "***" if masked else p.given_name,
        "familyName": "***" if masked else p.family_name,
        "eduPersonPrincipalNames": ["***"] if masked and p.eppns else list(p.eppns),
        "emails": ["***"] if masked and p.emails else list(p.emails),
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
