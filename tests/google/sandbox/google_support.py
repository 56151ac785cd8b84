"""Helpers for the Google sandbox tests."""

from __future__ import annotations

from adapters.google.sandbox import GoogleSandbox

ALL_SCOPES = (
    "https://www.googleapis.com/auth/admin.directory.user",
    "https://www.googleapis.com/auth/admin.directory.orgunit",
    "https://www.googleapis.com/auth/classroom.courses",
    "https://www.googleapis.com/auth/classroom.rosters",
)


def mint_token(
    sandbox: GoogleSandbox, subject: str | None = None, scopes: tuple[str, ...] = ALL_SCOPES
) -> str:
    """An access token for ``subject`` minted by google-auth from the sandbox's key file."""
    import google_auth_httplib2
    import httplib2
    from google.oauth2 import service_account

    info = sandbox.info
    creds = service_account.Credentials.from_service_account_file(
        info.key_file, scopes=list(scopes)
    ).with_subject(subject or info.admin_subjects[0])
    creds.refresh(google_auth_httplib2.Request(httplib2.Http(ca_certs=info.ca_path)))
    return str(creds.token)
