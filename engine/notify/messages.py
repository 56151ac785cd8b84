"""What a notice says, and the shape each channel wants it in.

One :class:`Message` per notice and channel, composed from the journal's run record: a title,
a paragraph, facts (counts, the guard's reasons) and the command to run. Its ``key`` is the
idempotency key a receiver drops a repeat by (the webhook's ``ESS-Delivery`` header, the
e-mail's ``Message-ID``): the same notice on the same channel always has the same key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import orjson

from engine.display import visible
from engine.journal import ElevationRecord, NoticeRecord, RunRecord

TROUBLE = ("failed", "dead", "blocked")


@dataclass(frozen=True, slots=True)
class Message:
    """One notification, before it is shaped for a channel."""

    key: str  # the idempotency key: ess.<tenant>.<notice id>.<channel>
    event: str  # plan_held, run_failed, failed_items, test
    tenant: str
    run_id: int | None
    at: datetime
    title: str
    text: str
    facts: tuple[tuple[str, str], ...]
    command: str  # what to run next; empty when there is nothing to run


def failed_items(run: RunRecord) -> int:
    return sum(int(run.counts.get(s, 0)) for s in TROUBLE)


STANDALONE = ("audit_head", "approver_changed", "credential_expiring")
"""Notices that report no run and no elevation: what they say is in their ``detail``."""


def event_of(notice: NoticeRecord, run: RunRecord | None) -> str | None:
    """The event a notice stands for; None when there is nothing to say (an unknown kind)."""
    if notice.kind in ("elevation_requested", "elevation_approved", *STANDALONE):
        return notice.kind
    if run is None:
        return None
    if notice.kind == "plan_held":
        return "plan_held"
    if notice.kind == "run_failed":
        return "run_failed"
    if notice.kind == "run_partial" and failed_items(run):
        return "failed_items"
    return None


Facts = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Wording:
    """What one event says: templates filled from :func:`str.format` fields (``who``, ``run``,
    ``tenant``, ``detail``, ``at``, ``failed``, ``elevation``, ``approver``); the title
    follows "<who>: ". Values are never read as templates, so a name with a brace is safe."""

    title: str
    text: str
    command: str = ""


RUN_WORDING: Mapping[str, Wording] = {
    "plan_held": Wording(
        "a plan is held for approval",
        "The guard held run {run}: it would change more than the tenant's policy allows at "
        "once. Nothing was applied, and every scheduled sync of this tenant waits until "
        "someone approves or rejects the plan.",
        "ess approve {run} --reason '...'   (or: ess reject {run})",
    ),
    "run_failed": Wording(
        "the run failed",
        "Run {run} stopped before it finished: a source or target could not be read, refused "
        "the login, or the run was interrupted. The next scheduled run tries again.",
        "ess show {run}",
    ),
    "failed_items": Wording(
        "{failed} item(s) failed",
        "Run {run} finished, but some items could not be applied; the rest of the run went "
        "through.",
        "ess failures {tenant}",
    ),
}
"""A run's events; any other run event reads as ``failed_items``."""

STANDALONE_WORDING: Mapping[str, tuple[Wording, str]] = {
    "audit_head": (
        Wording(
            "the ESS audit log's head",
            "Keep this message: it is the audit log's newest row as of {at:%Y-%m-%d %H:%M} "
            "UTC. Anyone who can change the ESS host could rewrite the log, but not this copy; "
            "checking the log against it shows whether any row up to it was edited, removed "
            "or cut.",
            "ess audit verify --head {detail}",
        ),
        "head",
    ),
    "credential_expiring": (
        Wording(
            "a credential runs out soon",
            "A credential ESS signs in with runs out soon; when it has, every sync of this "
            "target stops at the sign-in. Renew it before then.",
            "ess target check {tenant}",
        ),
        "credential",
    ),
    "approver_changed": (
        Wording(
            "a customer approver's key was changed",
            "An approver's key decides who can approve support's gold elevations for this "
            "tenant. If you did not ask for this change, tell your ESS provider at once.",
            "ess approver list {tenant}",
        ),
        "change",
    ),
}
"""Notices without a run or an elevation, each with the name of the fact its detail is;
any other such event reads as ``approver_changed``."""


ELEVATION_WORDING: Mapping[str, Wording] = {
    "elevation_requested": Wording(
        "elevation {elevation} requested", "Support asked for the right to write to this tenant."
    ),
    "elevation_awaits_approval": Wording(  # gold: a customer approver must approve it first
        "elevation {elevation} requested",
        "Support asked for the right to write to this tenant: it needs a customer approver's "
        "approval first.",
        "ess elevation approve {elevation} --approver 'NAME'",
    ),
    "elevation_approved": Wording(
        "elevation {elevation} approved",
        "{approver} approved the elevation: support may write to this tenant until it expires.",
    ),
}


def _who(notice: NoticeRecord, tenant_name: str) -> str:
    return f"{tenant_name} ({notice.tenant})" if tenant_name != notice.tenant else notice.tenant


def _message(
    notice: NoticeRecord,
    tenant_name: str,
    channel: str,
    event: str,
    wording: Wording,
    facts: Facts,
    run_id: int | None = None,
    **fields: Any,
) -> Message:
    """The one place a notice becomes a :class:`Message`: its key, its tenant, its time, and
    the wording filled in."""
    who = _who(notice, tenant_name)
    values = {"who": who, "tenant": notice.tenant, "at": notice.created_at, **fields}
    return Message(
        f"ess.{notice.tenant}.{notice.id}.{channel}",
        event,
        notice.tenant,
        run_id,
        notice.created_at,
        f"{who}: " + wording.title.format(**values),
        wording.text.format(**values),
        facts,
        wording.command.format(**values),
    )


def _run_facts(event: str, run: RunRecord) -> list[tuple[str, str]]:
    """What a run's event adds to the tenant and the run: the guard's verdict, the error, or
    the items in trouble."""
    if event == "plan_held":
        removals = run.guard.get("removals") or {}
        return [
            ("planned operations", str(int(run.counts.get("planned", 0)))),
            *((f"removals of {k}", str(v)) for k, v in sorted(removals.items())),
            *(("held because", str(r)) for r in run.guard.get("reasons") or ()),
        ]
    if event == "run_failed":
        return [("error", run.error or "(no message)")]
    return [(f"{s} items", str(run.counts[s])) for s in TROUBLE if run.counts.get(s)]


def compose(
    notice: NoticeRecord, run: RunRecord, tenant_name: str, channel: str, event: str
) -> Message:
    """The message of a notice: what happened, the counts, and the command that answers it."""
    wording = RUN_WORDING.get(event, RUN_WORDING["failed_items"])
    facts = (("tenant", _who(notice, tenant_name)), ("run", str(run.id)), *_run_facts(event, run))
    return _message(
        notice, tenant_name, channel, event, wording, facts, run.id,
        run=run.id, failed=failed_items(run),
    )  # fmt: skip


def compose_elevation(
    notice: NoticeRecord, elevation: ElevationRecord, tenant_name: str, channel: str, event: str
) -> Message:
    """An elevation asked for, or approved by the customer: who, why, until when."""
    facts: Facts = (
        ("tenant", _who(notice, tenant_name)),
        ("elevation", str(elevation.id)),
        ("asked by", elevation.actor),
        ("reason", elevation.reason),
        ("until", f"{elevation.expires_at:%Y-%m-%d %H:%M} UTC"),
    )
    approver = elevation.approved_by or ""
    if event == "elevation_approved":
        facts, wording = (*facts, ("approved by", approver)), ELEVATION_WORDING[event]
    elif elevation.needs_approval and elevation.approved_by is None:
        wording = ELEVATION_WORDING["elevation_awaits_approval"]
    else:
        wording = ELEVATION_WORDING["elevation_requested"]
    return _message(
        notice, tenant_name, channel, event, wording, facts,
        elevation=elevation.id, approver=approver or "The customer",
    )  # fmt: skip


def compose_standalone(notice: NoticeRecord, tenant_name: str, channel: str, event: str) -> Message:
    """The audit log's head sent out of the host, or an approver key enrolled or removed."""
    wording, fact = STANDALONE_WORDING.get(event, STANDALONE_WORDING["approver_changed"])
    facts = (("tenant", _who(notice, tenant_name)), (fact, notice.detail))
    return _message(notice, tenant_name, channel, event, wording, facts, detail=notice.detail)


def test_message(tenant: str, tenant_name: str, channel: str, at: datetime, nonce: str) -> Message:
    """The message of ``ess notify test``: says it is a test, and which channel it came by."""
    return Message(
        f"ess.{tenant}.test-{nonce}.{channel}",
        "test",
        tenant,
        None,
        at,
        f"{tenant_name}: test notification",
        f"A test from ESS through the channel '{channel}'. Held plans and failed runs of this "
        "tenant will be reported here.",
        (("tenant", tenant), ("channel", channel)),
        "",
    )


def _clean(m: Message) -> Message:
    """Text from outside (a tenant name, an error) with its control characters written out."""
    return replace(
        m,
        title=visible(m.title, newlines=False),
        text=visible(m.text, newlines=False),
        facts=tuple((visible(k, newlines=False), visible(v, newlines=False)) for k, v in m.facts),
        command=visible(m.command, newlines=False),
    )


def webhook_body(m: Message) -> bytes:
    """The generic webhook's JSON document."""
    m = _clean(m)
    return orjson.dumps(
        {
            "id": m.key,
            "event": m.event,
            "tenant": m.tenant,
            "run": m.run_id,
            "at": m.at.isoformat(),
            "title": m.title,
            "text": m.text,
            "facts": [{"name": k, "value": v} for k, v in m.facts],
            "command": m.command or None,
        }
    )


def signature(key: bytes, timestamp: int, body: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``: a receiver recomputes it with
    the shared key, compares in constant time and refuses an old timestamp (a replay)."""
    mac = hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def teams_body(m: Message) -> dict[str, Any]:
    """An Adaptive Card in the envelope Teams incoming webhooks (Workflows) accept."""
    m = _clean(m)
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": m.title, "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "TextBlock", "text": m.text, "wrap": True},
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in m.facts]},
    ]
    if m.command:
        body.append({"type": "TextBlock", "text": m.command, "fontType": "Monospace", "wrap": True})
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                },
            }
        ],
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(m: Message) -> dict[str, Any]:
    """Block Kit blocks with ``text`` as the notification's plain fallback."""
    m = _clean(m)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": m.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(m.text)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{_slack_escape(k)}*\n{_slack_escape(v)}"}
                for k, v in m.facts[:10]
            ],
        },
    ]
    if m.command:
        command = _slack_escape(m.command.replace("`", "'"))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"`{command}`"}})
    return {"text": m.title, "blocks": blocks}


def email_message(m: Message, sender: str, to: tuple[str, ...]) -> EmailMessage:
    """A plain-text mail whose ``Message-ID`` is the idempotency key."""
    m = _clean(m)
    mail = EmailMessage()
    mail["Subject"] = f"[ESS] {m.title}"
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Date"] = format_datetime(m.at)
    mail["Message-ID"] = f"<{m.key}@{sender.rpartition('@')[2]}>"
    mail["ESS-Event"] = m.event
    lines = [m.text, ""]
    lines += [f"{k}: {v}" for k, v in m.facts]
    if m.command:
        lines += ["", m.command]
    mail.set_content("\n".join(lines) + "\n")
    return mail
