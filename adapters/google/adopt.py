"""Accounts that already exist in the Directory (made by hand, or by another tool) are adopted,
not duplicated.

The tenant's ``match_key`` says what identifies a person's account. ``primaryEmail``: the
address ESS would give the account; Google refuses a second account with it (409
``duplicate``), and that refusal is the match, so it costs no call until it happens.
``externalId``: an ``organization`` external id holding the source's person id; Google keeps no
such uniqueness, so the Directory's accounts are listed once per run before the first account is
created, and a person found there is adopted instead of created. An adopted account is put right
in the same run (names, org unit, not suspended, the external id), and one that carries another
person's external id is never taken: that is a conflict for an administrator to settle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import calls
from .calls import ApiCall
from .client import GoogleClient

EXTERNAL_ID_TYPE = "organization"
LIST_FIELDS = (
    "users(id,primaryEmail,suspended,name(givenName,familyName),orgUnitPath,externalIds),"
    "nextPageToken"
)


def external_id(user: Mapping[str, Any]) -> str | None:
    """The source person id an account carries (its ``organization`` external id), if any."""
    for ext in user.get("externalIds") or ():
        if isinstance(ext, Mapping) and ext.get("type") == EXTERNAL_ID_TYPE and ext.get("value"):
            return str(ext["value"])
    return None


def conflict(found: Mapping[str, Any], key: str, email: str) -> str | None:
    """Why ``found`` (the account holding ``email``) is not the account of person ``key``;
    None when it may be adopted."""
    owner = external_id(found)
    if owner is not None and owner != key:
        return (
            f"the address {email} belongs to an existing account of another person "
            f"(externalId {owner}); change one of them in the Admin console"
        )
    if owner is None and str(found.get("primaryEmail", "")).lower() != email.lower():
        return (
            f"the address {email} is an alias of the existing account "
            f"{found.get('primaryEmail')}; remove the alias or change the email template"
        )
    return None


def put_right(found: Mapping[str, Any], key: str, attrs: Mapping[str, Any]) -> ApiCall | None:
    """The patch that makes an adopted account what ESS wants it to be (None: it already is).
    Its address stays: other systems and the person know it."""
    name = found.get("name") or {}
    ids = [dict(e) for e in found.get("externalIds") or () if isinstance(e, Mapping)]
    body: dict[str, Any] = {}
    if (name.get("givenName"), name.get("familyName")) != (attrs["givenName"], attrs["familyName"]):
        body["name"] = {"givenName": attrs["givenName"], "familyName": attrs["familyName"]}
    if found.get("orgUnitPath") != attrs["orgUnitPath"]:
        body["orgUnitPath"] = attrs["orgUnitPath"]
    if found.get("suspended"):
        body["suspended"] = False
    if external_id(found) != key:
        body["externalIds"] = [*ids, {"type": EXTERNAL_ID_TYPE, "value": key}]
    return calls.patch_user(str(found["id"]), body) if body else None


class Accounts:
    """The Directory's accounts by external id, read whole once (only under ``match_key =
    "externalId"``); a list that cannot be read whole raises, and nothing is created."""

    def __init__(self, client: GoogleClient) -> None:
        self.client = client
        self._by_key: dict[str, dict[str, Any]] | None = None

    async def by_external_id(self) -> Mapping[str, dict[str, Any]]:
        if self._by_key is None:
            users = await self.client.list_all(
                lambda token: calls.list_users(page_token=token, fields=LIST_FIELDS), "users"
            )
            by_key: dict[str, dict[str, Any]] = {}
            for user in users:
                key = external_id(user)
                if key is not None:
                    by_key.setdefault(key, user)
            self._by_key = by_key
        return self._by_key
