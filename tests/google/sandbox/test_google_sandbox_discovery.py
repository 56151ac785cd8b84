"""The sandbox serves the methods of the discovery documents google-api-python-client ships:
every route's HTTP method and path template is the one the document gives, so the sandbox
cannot drift from the published API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import googleapiclient

from adapters.google.sandbox import GoogleSandbox
from adapters.google.sandbox.app import api_routes

DOCS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"


def _methods(doc: dict[str, Any]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()

    def walk(resources: dict[str, Any]) -> None:
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                found.add((method["httpMethod"], method["path"]))
            walk(resource.get("resources", {}))

    walk(doc.get("resources", {}))
    return found


def test_every_route_is_a_method_of_the_discovery_documents() -> None:
    published = set()
    for name in ("classroom.v1.json", "admin.directory_v1.json"):
        doc = json.loads((DOCS / name).read_text())
        assert doc["batchPath"] == "batch"
        published |= {(m, doc["servicePath"] + p) for m, p in _methods(doc)}
    sandbox = GoogleSandbox()
    routes = api_routes(sandbox.directory, sandbox.classroom, sandbox.groups)
    served = {(r.method, "/".join(r.template)) for r in routes}
    assert served - published == set()
    assert len(served) == len(routes) == 36
