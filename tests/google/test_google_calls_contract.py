"""Every call ESS makes to Google is checked against the discovery documents inside
google-api-python-client: the method exists with that HTTP method and path template, the
encoded path decodes to the values given, every query parameter is one the method takes (a
repeated one only where the document says so), every body field is a property of the request
schema, every name in a fields mask is a field of the answer, and a course patch's
updateMask names only fields it may."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import googleapiclient
import pytest

from adapters.google import calls, drift, group_drift
from adapters.google.calls import ApiCall

DOCS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
STANDARD = {"alt", "fields", "prettyPrint", "quotaUser", "key", "$.xgafv", "oauth_token"}


def _doc(api: str) -> dict[str, Any]:
    name = "classroom.v1.json" if api == "classroom" else "admin.directory_v1.json"
    return dict(json.loads((DOCS / name).read_text()))


def _method(doc: dict[str, Any], http: str, path: str) -> dict[str, Any]:
    def walk(resources: dict[str, Any]) -> dict[str, Any] | None:
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                if method["httpMethod"] == http and doc["servicePath"] + method["path"] == path:
                    return dict(method)
            found = walk(resource.get("resources", {}))
            if found is not None:
                return found
        return None

    found = walk(doc["resources"])
    assert found is not None, f"{http} {path} is no method of the discovery document"
    return found


ALIAS = "d:2026/HT MA1"
EVERY_CALL: list[ApiCall] = [
    calls.insert_user(
        {
            "primaryEmail": "a@s.example",
            "name": {"givenName": "A", "familyName": "B"},
            "password": "x",
            "orgUnitPath": "/Skolor/Åby",
            "externalIds": [{"type": "organization", "value": "1"}],
            "suspended": False,
            "changePasswordAtNextLogin": True,
        }
    ),
    calls.get_user("a+b@s.example"),
    calls.patch_user("a@s.example", {"suspended": True, "orgUnitPath": "/"}),
    calls.delete_user("a@s.example"),
    calls.list_users(query="externalId=1", page_token="t", fields="users(id),nextPageToken"),
    calls.insert_orgunit("Åby skola", "/Skolor"),
    calls.get_orgunit("/Skolor/Åby skola/Elever"),
    calls.list_orgunits(),
    calls.create_course(
        {
            "id": ALIAS,
            "name": "Ma 1",
            "section": "HT 2026",
            "ownerId": "t@s.example",
            "courseState": "ACTIVE",
        }
    ),
    calls.get_course(ALIAS),
    calls.patch_course(ALIAS, {"ownerId": "u@s.example", "name": "Ma 1b"}),
    calls.patch_course(ALIAS, {"courseState": "ARCHIVED"}),
    calls.list_courses(states=["ACTIVE", "PROVISIONED"], page_token="p", fields="courses(id)"),
    calls.create_alias("123", ALIAS),
    calls.add_member(ALIAS, "teachers", "t@s.example"),
    calls.add_member(ALIAS, "students", "s@s.example"),
    calls.remove_member(ALIAS, "teachers", "t@s.example"),
    calls.remove_member(ALIAS, "students", "s@s.example"),
    calls.list_members(ALIAS, "students", page_token="p", fields="students(userId)"),
    calls.list_members(ALIAS, "teachers"),
    calls.insert_group("elever.aby@s.example", "Elever Åby", "Alla elever"),
    calls.list_groups(page_token="p"),
    calls.list_groups(page_token="p", fields=group_drift.GROUP_FIELDS),
    calls.get_group("elever.aby@s.example"),
    calls.patch_group("elever.aby@s.example", {"name": "Elever i Åby", "description": "x"}),
    calls.insert_group_member("elever.aby@s.example", "103456789012345678901"),
    calls.delete_group("elever.aby@s.example"),
    calls.insert_group_member("elever.aby@s.example", "a@s.example"),
    calls.list_group_members("elever.aby@s.example", page_token="p"),
    calls.list_group_members("elever.aby@s.example", fields=group_drift.MEMBER_FIELDS),
    calls.list_users(fields=drift.USER_FIELDS),
    calls.list_courses(fields=drift.COURSE_FIELDS),
    calls.list_members(ALIAS, "teachers", fields=drift.MEMBER_FIELDS.format(role="teachers")),
    calls.list_members(ALIAS, "students", fields=drift.MEMBER_FIELDS.format(role="students")),
    calls.delete_group_member("elever.aby@s.example", "a@s.example"),
    calls.create_invitation("123", "TEACHER", "x@other.example"),
    calls.list_invitations("123", page_token="p"),
    calls.delete_invitation("9001"),
]


def _decode(template: str, path: str) -> dict[str, str]:
    values: dict[str, str] = {}
    parts, segments = template.split("/"), path.split("/")
    for i, part in enumerate(parts):
        if part.startswith("{+"):
            values[part[2:-1]] = unquote("/".join(segments[i:]))
            return values
        if part.startswith("{"):
            values[part[1:-1]] = unquote(segments[i])
        else:
            assert segments[i] == part
    assert len(parts) == len(segments), path
    return values


Mask = dict[str, "Mask"]


def _mask(text: str) -> Mask:
    """A fields mask (``users(id,name(givenName)),nextPageToken``) as a tree of names."""

    def parse(at: int) -> tuple[Mask, int]:
        out: Mask = {}
        name = ""
        while at < len(text):
            ch = text[at]
            if ch == "(":
                out[name], at = parse(at + 1)
                name = ""
            elif ch == ")":
                break
            elif ch == ",":
                if name:
                    out[name] = {}
                name = ""
            else:
                name += ch
            at += 1
        if name:
            out[name] = {}
        return out, at

    return parse(0)[0]


def _assert_mask(doc: dict[str, Any], ref: str, mask: Mask) -> None:
    """Every name in the mask is a property of the schema it selects from."""
    properties = doc["schemas"][ref]["properties"]
    for name, inner in mask.items():
        assert name in properties, f"{name} is no field of {ref}"
        spec = properties[name]
        spec = spec.get("items", spec)
        if inner:
            assert "$ref" in spec, f"{name} of {ref} has no fields to select"
            _assert_mask(doc, spec["$ref"], inner)


def test_a_fields_mask_naming_no_field_of_the_answer_is_caught() -> None:
    doc = _doc("directory")
    _assert_mask(doc, "Members", _mask(group_drift.MEMBER_FIELDS))
    with pytest.raises(AssertionError, match="userId is no field of Member"):
        _assert_mask(doc, "Members", _mask("members(userId),nextPageToken"))


@pytest.mark.parametrize("call", EVERY_CALL, ids=lambda c: f"{c.method} {c.template}")
def test_the_call_is_one_the_discovery_document_describes(call: ApiCall) -> None:
    doc = _doc(call.api)
    method = _method(doc, call.method, call.template)
    parameters = method.get("parameters", {})
    for name in _decode(call.template, call.path):
        assert parameters[name]["location"] == "path"
    names = [name for name, _ in call.params]
    for name in names:
        if name in STANDARD:
            continue
        assert name in parameters and parameters[name]["location"] == "query", name
        if names.count(name) > 1:
            assert parameters[name].get("repeated"), f"{name} is not repeated"
    for name, spec in parameters.items():
        if spec.get("required") and spec["location"] == "query":
            assert name in names, f"{name} is required"
    if call.body is not None:
        ref = method["request"]["$ref"]
        properties = doc["schemas"][ref]["properties"]
        assert set(call.body) <= set(properties), set(call.body) - set(properties)
    else:
        assert "request" not in method or call.method == "DELETE"
    if fields := dict(call.params).get("fields"):
        _assert_mask(doc, method["response"]["$ref"], _mask(fields))
    if call.template == "v1/courses/{id}" and call.method == "PATCH":
        mask = dict(call.params)["updateMask"].split(",")
        assert set(mask) == set(call.body or {})
        assert set(mask) <= calls.COURSE_PATCHABLE


def test_an_alias_with_a_slash_is_one_segment_and_an_org_unit_keeps_its_slashes() -> None:
    assert calls.get_course(ALIAS).path == "v1/courses/d%3A2026%2FHT%20MA1"
    assert (
        calls.get_orgunit("/Skolor/Åby skola").path
        == "admin/directory/v1/customer/my_customer/orgunits/Skolor/%C3%85by%20skola"
    )


def test_a_patch_of_a_read_only_field_is_refused_before_it_is_sent() -> None:
    with pytest.raises(ValueError, match="enrollmentCode"):
        calls.patch_course("1", {"enrollmentCode": "x"})
