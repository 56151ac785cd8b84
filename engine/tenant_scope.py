"""Which tenants an identity serves: the hosted provider's engineer sees and acts on their own
customers only.

An identity is an OS account (the CLI, the console, ``ess mcp`` over stdio: ``[operators.NAME]``)
or a named MCP token (``ess mcp --http``: ``[mcp.tokens.NAME]``). Either may list ``tenants``;
without a list it serves every tenant, as before. The ops facade holds one scope and checks it
on every query and command, so no front end can forget it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.config import EssConfig


@dataclass(frozen=True)
class TenantScope:
    """The tenants an identity serves (``None``: all) and how messages name the identity."""

    tenants: frozenset[str] | None = None
    who: str = ""

    @property
    def limited(self) -> bool:
        return self.tenants is not None

    def allows(self, tenant_id: str) -> bool:
        return self.tenants is None or tenant_id in self.tenants

    def pick(self, tenant_ids: Iterable[str]) -> list[str]:
        """The given tenant ids this scope serves, in their order."""
        return [t for t in tenant_ids if self.allows(t)]

    def within(self, other: TenantScope) -> TenantScope:
        """What both scopes allow: a token's list never widens what its server may do."""
        if self.tenants is None or other.tenants is None:
            tenants = self.tenants if other.tenants is None else other.tenants
        else:
            tenants = self.tenants & other.tenants
        narrower = self if other.tenants is None and self.tenants is not None else other
        return TenantScope(tenants, narrower.who or self.who)

    def refusal(self, tenant_id: str) -> str:
        served = ", ".join(sorted(self.tenants or ())) or "none"
        return (
            f"tenant {tenant_id} is not among the tenants {self.who or 'you'} may serve "
            f"({served}); ask the ESS administrator to add it to the list in ess.toml"
        )


EVERY_TENANT = TenantScope()


def operator_scope(config: EssConfig, account: str) -> TenantScope:
    """The scope of the engineer signed in as OS ``account`` (``[operators.ACCOUNT]``)."""
    entry = config.operators.get(account)
    if entry is None or entry.tenants is None:
        return TenantScope(None, f"operator {account}")
    return TenantScope(frozenset(entry.tenants), f"operator {account}")


def token_scope(config: EssConfig, name: str) -> TenantScope:
    """The scope of the MCP token named ``name`` (``[mcp.tokens.NAME] tenants``). A token not
    in the file (``--token``, the deprecated ``[mcp] token``) serves every tenant."""
    entry = config.mcp.tokens.get(name)
    if entry is None or entry.tenants is None:
        return TenantScope(None, f"MCP token {name}")
    return TenantScope(frozenset(entry.tenants), f"MCP token {name}")
