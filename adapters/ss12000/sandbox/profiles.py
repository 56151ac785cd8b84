"""How the sandbox looks like each vendor: its paths, and Edlevo's deviations in the data.

Edlevo (Tietoevry SS12000 doc v1.4.0): only Skola and Skolenhet organisations, parent set only
on the Skolenhet; groups and duties hang on the Skola; only groups of type Undervisning, Klass,
Avdelning and Övrigt; persons without photo or external identifiers; only Undervisning
activities, one group each, calendarEventsRequired always true; assignment roles only
Förskollärare, Mentor and Administrativ personal.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
_NS = uuid.UUID("6f1c2e7a-3b9d-4c55-9a1e-0d2b7c4e8f10")


@dataclass(frozen=True)
class SandboxProfile:
    name: str
    api_prefix: str
    token_path: str


CUSTOMER_ID = "SE00100"
PROFILES = {
    "generic": SandboxProfile("generic", "/v2.0", "/token"),
    "ist": SandboxProfile("ist", f"/ss12000v2-api/source/{CUSTOMER_ID}/v2.0", "/connect/token"),
    "edlevo": SandboxProfile(
        "edlevo",
        "/WE.Education.IntegrationPortal.ExternalApi/api/v1",
        "/WE.Education.IdentityServer.Web/connect/token",
    ),
}

EDLEVO_GROUP_TYPES = frozenset({"Undervisning", "Klass", "Avdelning", "Övrigt"})
EDLEVO_ASSIGNMENTS = frozenset({"Förskollärare", "Mentor", "Administrativ personal"})


def derived_id(base: str, part: str) -> str:
    return str(uuid.uuid5(_NS, f"{base}:{part}"))


def edlevo_view(
    entities: dict[str, list[Obj]],
) -> tuple[dict[str, list[Obj]], dict[str, list[str]]]:
    """The dataset as Edlevo would serve it, and the activity ids each original id became."""
    orgs = {o["id"]: o for o in entities.get("organisations", [])}
    skola_of: dict[str, str] = {}
    out_orgs: list[Obj] = []
    made: dict[str, Obj] = {}
    for o in orgs.values():
        if o.get("organisationType") != "Skolenhet":
            continue
        parent = (o.get("parentOrganisation") or {}).get("id")
        above = orgs.get(parent) if isinstance(parent, str) else None
        if parent is not None and above is not None and above.get("organisationType") == "Skola":
            skola_of[o["id"]] = parent
        else:  # Edlevo always has a Skola above the unit: make one of the same name
            sid = derived_id(o["id"], "skola")
            skola_of[o["id"]] = sid
            made[sid] = {
                "id": sid,
                "meta": o["meta"],
                "displayName": o["displayName"],
                "organisationType": "Skola",
                "schoolTypes": list(o.get("schoolTypes") or []),
            }
        unit = {k: val for k, val in o.items() if k != "organisationNumber"}
        unit["parentOrganisation"] = {"id": skola_of[o["id"]]}
        out_orgs.append(unit)
    for o in orgs.values():
        if o.get("organisationType") == "Skola":
            out_orgs.append(
                {
                    k: val
                    for k, val in o.items()
                    if k not in ("parentOrganisation", "organisationNumber")
                }
            )
    out_orgs.extend(made.values())

    def on_skola(ref: Obj) -> Obj:
        return {"id": skola_of.get(ref["id"], ref["id"])}

    groups: list[Obj] = []
    for g in entities.get("groups", []):
        if g.get("groupType") in EDLEVO_GROUP_TYPES:
            groups.append({**g, "organisation": on_skola(g["organisation"])})
    kept = {g["id"] for g in groups}

    duties: list[Obj] = []
    for d in entities.get("duties", []):
        roles = [
            a
            for a in d.get("assignmentRole") or []
            if a.get("assignmentRoleType") in EDLEVO_ASSIGNMENTS and a["group"]["id"] in kept
        ]
        duties.append({**d, "dutyAt": on_skola(d["dutyAt"]), "assignmentRole": roles})

    persons = [
        {k: val for k, val in p.items() if k not in ("photo", "externalIdentifiers")}
        for p in entities.get("persons", [])
    ]

    activities: list[Obj] = []
    splits: dict[str, list[str]] = {}
    for a in entities.get("activities", []):
        if a.get("activityType") != "Undervisning":
            continue
        refs = [r for r in a.get("groups") or [] if r["id"] in kept]
        for n, ref in enumerate(refs):
            aid = a["id"] if n == 0 else derived_id(a["id"], ref["id"])
            splits.setdefault(a["id"], []).append(aid)
            activities.append({**a, "id": aid, "groups": [ref], "calendarEventsRequired": True})
    view = {
        "organisations": out_orgs,
        "persons": persons,
        "duties": duties,
        "groups": groups,
        "activities": activities,
    }
    return view, splits
