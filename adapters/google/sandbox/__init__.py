"""A local Google Workspace for Education: the OAuth token endpoint (service account, JWT
bearer grant, domain-wide delegation), the Admin SDK Directory API (users, org units, groups
and members) and the Classroom API (courses, aliases, teachers, students, invitations), with
batches and the published quotas.

Served over HTTPS on loopback by the kit's server thread; google-api-python-client itself can
be pointed at it (see docs/sandboxes/google.md).
"""

from __future__ import annotations

import random
from typing import Any

from adapters.kit.sandbox import JWT_BEARER, ConfiguredSandbox, SandboxError, make_tls
from adapters.kit.sandbox.tokens import TokenEndpoint

from .app import api_routes, build_app
from .auth import Grant, ServiceAccount, jwt_bearer_grant
from .classroom import Classroom
from .directory import Directory
from .groups import Groups
from .service import Pipeline
from .settings import SandboxInfo, SandboxSettings, SandboxStats

__all__ = ["GoogleSandbox", "SandboxInfo", "SandboxSettings", "SandboxStats"]

ADMIN_NAMES = ("Ada", "Bo", "Cai", "Dag", "Eja", "Fia", "Gus", "Hed")


class GoogleSandbox(ConfiguredSandbox[SandboxInfo, SandboxSettings]):
    """Google's token endpoint, Directory and Classroom over HTTPS on loopback."""

    settings_type = SandboxSettings
    workdir_prefix = "ess-google-sandbox-"

    def _configure(self) -> None:
        self.settings.check()
        ids = random.Random(f"ess-google-{self.settings.seed}")
        self.customer_id = f"C0{ids.getrandbits(32):08x}"
        self._grants: dict[str, Grant] = {}  # assertion -> grant, then access token -> grant
        self._pipeline: Pipeline | None = None
        self._empty()

    def _empty(self) -> None:
        """A customer with only its admins: no account, org unit, group or course."""
        self.directory = Directory(self.settings.domain, self.customer_id)
        self.classroom = Classroom(self.directory, lambda: self.settings)
        self.groups = Groups(self.directory)
        self.admins = tuple(
            f"ess-admin-{i + 1}@{self.settings.domain}" for i in range(self.settings.admins)
        )
        for i, email in enumerate(self.admins):
            self.directory.add_admin(email, ADMIN_NAMES[i % len(ADMIN_NAMES)], "Admin")

    def reset(self, settings: SandboxSettings | None = None) -> None:
        """Empty the customer and zero the counters while it runs (one sandbox serves many
        tests): the key, the CA, the port and tokens already issued stay valid. ``settings``
        replace the current ones; the domain and the number of admins cannot change."""
        if settings is not None:
            settings.check()
            if (settings.domain, settings.admins) != (self.settings.domain, self.settings.admins):
                raise SandboxError("reset cannot change the domain or the number of admins")
            self.settings = settings
        self._empty()
        pipeline = self._require()
        pipeline.routes = api_routes(self.directory, self.classroom, self.groups)
        pipeline.reset_stats()

    def _is_admin(self, subject: str) -> bool:
        user = self.directory.user(subject)
        return bool(user and user.get("isAdmin") and not user.get("suspended"))

    def start(self) -> SandboxInfo:
        if self._info is not None:
            return self._info
        folder = self._workdir.path
        tls = make_tls(folder, (self.host,), "ESS Google sandbox")
        server, base = self._bind(tls, "google-sandbox")
        account = ServiceAccount("ess-sandbox", f"{base}/token")
        key_file = account.write_key(folder / "service-account.json")
        by_assertion: dict[str, Grant] = {}
        tokens = _Tokens(
            client_id=account.client_email,
            client_secret="",
            lifetime_s=lambda: self.settings.token_lifetime_s,
            by_assertion=by_assertion,
            by_token=self._grants,
        )
        tokens.grants.pop("client_credentials", None)  # Google has no such grant here
        tokens.add_grant(
            JWT_BEARER,
            jwt_bearer_grant(
                account, self._is_admin, lambda: self.settings.delegated_scopes, by_assertion
            ),
        )
        self._pipeline = Pipeline(
            api_routes(self.directory, self.classroom, self.groups),
            tokens,
            self._grants,
            lambda: self.settings,
        )
        app = build_app(self._pipeline, tokens, lambda: self.settings, self.state)
        self._or_stop(lambda: server.start(app), SandboxError)
        self._info = SandboxInfo(
            root_url=f"{base}/",
            token_uri=f"{base}/token",
            batch_url=f"{base}/batch",
            domain=self.settings.domain,
            customer_id=self.customer_id,
            admin_subjects=self.admins,
            key_file=str(key_file),
            client_email=account.client_email,
            ca_path=str(tls.ca_path),
            inspect_url=f"{base}/_sandbox",
        )
        return self._info

    def _require(self) -> Pipeline:
        if self._pipeline is None:
            raise SandboxError("the sandbox is not started")
        return self._pipeline

    def state(self) -> dict[str, Any]:
        """The same JSON as ``GET /_sandbox/state``."""
        return {
            "domain": self.settings.domain,
            "customer_id": self.customer_id,
            **self.directory.state(),
            **self.groups.state(),
            **self.classroom.state(),
        }

    def sign_in(self, email: str, password: str) -> str:
        """Check a user's password: "ok", "change" (must change it first) or "refused"."""
        return self.directory.sign_in(email, password)

    def add_external_user(self, email: str, given: str = "Extern", family: str = "Konto") -> str:
        """A Google account of another domain, known to Classroom (invited, never added
        directly); returns its id."""
        return str(self.classroom.add_external_user(email, given, family)["id"])

    def stats(self) -> SandboxStats:
        return self._require().stats()

    def reset_stats(self) -> None:
        self._require().reset_stats()

    def update_settings(self, **changes: Any) -> None:
        """Change settings while it runs, all or nothing (as ``POST /_sandbox/settings``)."""
        from adapters.kit.sandbox import apply_changes

        apply_changes(self.settings, changes)


class _Tokens(TokenEndpoint):
    """The kit's token endpoint, remembering which grant each access token came from."""

    def __init__(
        self, *, by_assertion: dict[str, Grant], by_token: dict[str, Grant], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._by_assertion = by_assertion
        self._by_token = by_token

    def issue(self, form: Any) -> dict[str, Any]:
        answer = super().issue(form)
        grant = self._by_assertion.pop(form.get("assertion", ""), None)
        if grant is not None:
            self._by_token[str(answer["access_token"])] = grant
        return answer
