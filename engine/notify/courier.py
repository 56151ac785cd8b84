"""Delivering the outbox: every open notice to every channel of its tenant that wants it.

At least once: a delivery is recorded only after the channel took it, so a process that dies
in between sends it again, with the same idempotency key. A failed delivery is retried with
exponential backoff (with jitter) and given up after :data:`MAX_ATTEMPTS`; a notice closes
when every channel has it or gave up. The channels are read from ess.toml at delivery time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from engine.config import LoadedConfig
from engine.journal import DeliveryRecord, Journal
from engine.notify.messages import (
    STANDALONE,
    Message,
    compose,
    compose_elevation,
    compose_standalone,
    event_of,
    failed_items,
    test_message,
)
from engine.notify.send import AnyChannel, DeliveryError, send

RETRY_BASE_S = 30.0
RETRY_MAX_S = 3600.0
MAX_ATTEMPTS = 30  # about a day at the cap


@dataclass(frozen=True, slots=True)
class CourierReport:
    """One pass over the outbox."""

    delivered: int  # deliveries that went through
    failed: int  # attempts that failed (and will be tried again unless given up)
    given_up: int
    waiting: int  # deliveries whose retry time has not come


def retry_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before the next try after ``attempts`` failures: doubling, capped, jittered
    down by up to a half so that many installations do not retry in step."""
    ceiling = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** max(0, attempts - 1))
    return float(ceiling * (0.5 + (rng or random).random() / 2))


def _wants(channel: AnyChannel, event: str, failed: int) -> bool:
    if event not in channel.events:
        return False
    return event != "failed_items" or failed >= channel.failed_items_min


def _settled(d: DeliveryRecord | None) -> bool:
    return d is not None and (d.delivered_at is not None or d.given_up)


async def deliver_due(
    journal: Journal, cfg: LoadedConfig, *, now: datetime | None = None, limit: int = 100
) -> CourierReport:
    """Try every delivery that is due now; close the notices that are settled."""
    now = now or datetime.now(UTC)
    delivered = failed = given_up = waiting = 0
    secrets = cfg.secrets()
    for notice in await journal.open_notices(limit):
        tenant = cfg.config.tenants.get(notice.tenant)
        run = await journal.get_run(notice.run_id) if notice.run_id is not None else None
        elevation = (
            await journal.get_elevation(notice.elevation_id)
            if notice.elevation_id is not None
            else None
        )
        event = event_of(notice, run)
        failed = failed_items(run) if run is not None else 0
        message_of: Callable[[str], Message] | None = None
        if tenant is not None and event is not None:
            name = tenant.name or notice.tenant
            if run is not None:
                message_of = partial(compose, notice, run, name, event=event)
            elif elevation is not None:
                message_of = partial(compose_elevation, notice, elevation, name, event=event)
            elif event in STANDALONE:
                message_of = partial(compose_standalone, notice, name, event=event)
        wanted = (
            [c for c in tenant.notify if _wants(c, event, failed)]
            if tenant is not None and event is not None and message_of is not None
            else []
        )
        state = {d.channel: d for d in await journal.deliveries(notice.id)}
        open_left = False
        for channel in wanted:
            before = state.get(channel.name)
            if _settled(before):
                continue
            if before is not None and before.retry_at is not None and before.retry_at > now:
                waiting += 1
                open_left = True
                continue
            assert message_of is not None
            message = message_of(channel.name)
            try:
                await send(channel, message, secrets, base_dir=cfg.base_dir)
            except DeliveryError as exc:
                attempts = (before.attempts if before else 0) + 1
                give_up = attempts >= MAX_ATTEMPTS
                await journal.record_delivery(
                    notice.id,
                    channel.name,
                    delivered=False,
                    error=str(exc),
                    retry_at=now + timedelta(seconds=retry_delay(attempts)),
                    give_up=give_up,
                )
                failed += 1
                given_up += give_up
                open_left = open_left or not give_up
            else:
                await journal.record_delivery(notice.id, channel.name, delivered=True)
                delivered += 1
        if not open_left:
            await journal.close_notice(notice.id)
    return CourierReport(delivered, failed, given_up, waiting)


@dataclass(frozen=True, slots=True)
class ChannelTest:
    """The answer of one channel to ``ess notify test``."""

    channel: str
    type: str
    ok: bool
    error: str  # why it failed; empty when it went through
    key: str  # the test message's idempotency key, to find it at the receiver


async def send_tests(cfg: LoadedConfig, tenant_id: str) -> list[ChannelTest]:
    """A test message to each of the tenant's channels, now, outside the outbox."""
    tenant = cfg.config.tenants[tenant_id]
    at = datetime.now(UTC)
    nonce = secrets_token()
    out: list[ChannelTest] = []
    for channel in tenant.notify:
        message = test_message(tenant_id, tenant.name or tenant_id, channel.name, at, nonce)
        try:
            await send(channel, message, cfg.secrets(), base_dir=cfg.base_dir)
        except DeliveryError as exc:
            out.append(ChannelTest(channel.name, channel.type, False, str(exc), message.key))
        else:
            out.append(ChannelTest(channel.name, channel.type, True, "", message.key))
    return out


def secrets_token() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{random.randrange(16**6):06x}"
