"""Vendor profiles: where each vendor serves SS 12000 and how it departs from the standard."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VendorProfile:
    """URL templates and defaults of one vendor's SS 12000 API.

    ``needs`` names the config key the templates are filled from; an explicit ``base_url`` or
    ``token_url`` in the config always wins (the sandbox relies on that).
    """

    name: str
    base_url_template: str | None
    token_url_template: str | None
    needs: str | None
    paging: bool = True
    groups_on_skola: bool = False  # groups and duties hang on a Skola, not on the Skolenhet
    activity_name_is_subject: bool = False  # activity displayName is the subject/course code

    def base_url(self, values: dict[str, str | None]) -> str | None:
        return _fill(self.base_url_template, self.needs, values)

    def token_url(self, values: dict[str, str | None]) -> str | None:
        return _fill(self.token_url_template, self.needs, values)


def _fill(template: str | None, key: str | None, values: dict[str, str | None]) -> str | None:
    if template is None:
        return None
    if key is None or "{" + key + "}" not in template:
        return template
    value = values.get(key)
    return template.format(**{key: value}) if value else None


IST = VendorProfile(
    name="ist",
    base_url_template="https://api.ist.com/ss12000v2-api/source/{customer_id}/v2.0",
    token_url_template="https://skolid.se/connect/token",
    needs="customer_id",
)

EDLEVO = VendorProfile(
    name="edlevo",
    base_url_template="https://{server}/WE.Education.IntegrationPortal.ExternalApi/api/v1",
    token_url_template="https://{server}/WE.Education.IdentityServer.Web/connect/token",
    needs="server",
    groups_on_skola=True,
    activity_name_is_subject=True,
)

GENERIC = VendorProfile(name="generic", base_url_template=None, token_url_template=None, needs=None)

PROFILES: dict[str, VendorProfile] = {p.name: p for p in (IST, EDLEVO, GENERIC)}
