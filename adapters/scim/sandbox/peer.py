"""The real SCIM peer: scim2-server's core (its ASGI application and in-memory storage) with
the sandbox's authentication, the EGIL schemas when asked, and for the ``egil`` profile a
storage that keeps the source UUID (the resource's ``externalId``) as its id, as EGIL receivers
do: ``PUT /Users/<uuid>`` then reaches the resource ``POST /Users`` made, and a second
``POST`` of the same UUID is refused with 409 ``uniqueness``.
"""

from __future__ import annotations

import contextlib
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from scim2_models import (
    AuthenticationScheme,
    InvalidValueException,
    Resource,
    ResourceType,
    Schema,
    ScimProvider,
    UnauthorizedException,
    UniquenessException,
)
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage, InMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

from .egil_schemas import sis_resource_types, sis_schemas

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class UuidKeepingStorage(InMemoryStorage):
    """scim2-server's memory storage, keeping the client's ``externalId`` as the id."""

    def generate_id(self, resource_type: ResourceType, resource: Resource[Any]) -> str:
        if not resource.external_id:
            raise InvalidValueException(
                detail="an EGIL resource needs its externalId: the source UUID, kept as its id"
            )
        return str(resource.external_id)

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        with self.lock:
            held = self._resources.get(resource_type.name, {})
            if resource.external_id and str(resource.external_id) in held:
                raise UniquenessException(
                    detail=f"{resource_type.name} {resource.external_id} exists"
                )
            return super().create(resource_type, resource)


def provider_for(
    profile: str,
    *,
    bulk: bool,
    etag: bool,
    patch: bool,
    max_results: int,
    bulk_max: int,
    filtering: bool = True,
    bulk_max_payload: int = 1_048_576,
) -> ScimProvider:
    """The service's discovery: RFC 7643's schemas (plus the SIS ones for ``egil``) and the
    capabilities the settings give."""
    schemas = list(load_default_schemas().values())
    types = list(load_default_resource_types().values())
    if profile == "egil":
        schemas += [Schema.model_validate(s) for s in sis_schemas()]
        types = [ResourceType.model_validate(t) for t in sis_resource_types()]
    config = load_default_service_provider_config()
    assert config.bulk is not None and config.etag is not None and config.patch is not None
    assert config.filter is not None
    config.bulk.supported = bulk
    config.bulk.max_operations = bulk_max
    config.bulk.max_payload_size = bulk_max_payload
    config.etag.supported = etag
    config.patch.supported = patch
    config.filter.max_results = max_results
    config.filter.supported = filtering
    config.authentication_schemes = [
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="OAuth Bearer Token",
            description="A static bearer token or one from the token endpoint",
        )
    ]
    return ScimProvider.from_discovery(schemas, types, config=config)


class Counted:
    """What the peer served: requests, writes (each operation of a bulk request counted),
    bulk requests."""

    def __init__(self) -> None:
        self.requests = 0
        self.writes = 0
        self.bulk_requests = 0
        self.by_status: dict[int, int] = {}
        self.log: deque[tuple[str, str, int]] = deque(maxlen=100_000)  # method, path, status


class PeerApplication(ASGIApplication):
    """scim2-server's ASGI application with the sandbox's token check and counters."""

    def __init__(
        self,
        storage: InMemoryStorage,
        provider: ScimProvider,
        authorized: Callable[[str | None], bool],
    ) -> None:
        service = ScimService(provider, secret="ess-scim-sandbox-cursors")
        super().__init__(AsyncInMemoryStorage(storage), provider, service)
        self.memory = storage
        self.authorized = authorized
        self.counted = Counted()

    def check_auth(self, request: ScimRequest) -> None:
        if not self.authorized(request.header("Authorization")):
            raise UnauthorizedException

    async def serve(self, request: ScimRequest) -> ScimResponse:
        response = await super().serve(request)
        c = self.counted
        c.requests += 1
        status = int(response.status)
        c.by_status[status] = c.by_status.get(status, 0) + 1
        c.log.append((request.method, request.path, status))
        if request.path.rstrip("/").endswith("/Bulk"):
            c.bulk_requests += 1
            with contextlib.suppress(ValueError, AttributeError):
                c.writes += len(json.loads(request.body or b"{}").get("Operations", []))
        elif request.method in WRITES and not request.path.endswith(".search"):
            c.writes += 1
        return response
