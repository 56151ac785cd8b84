"""Sending one message on one channel: HTTP for webhooks, SMTP for e-mail.

A failure is a :class:`DeliveryError` whose text names what happened (a status, a refused
connection) and never a secret: Teams and Slack URLs carry their token, so no URL is quoted.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time
from pathlib import Path

import httpx
import orjson

from engine.notify.channels import (
    EmailChannel,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
    check_url,
)
from engine.notify.messages import (
    Message,
    email_message,
    signature,
    slack_body,
    teams_body,
    webhook_body,
)
from engine.secrets import SecretError, SecretResolver

AnyChannel = WebhookChannel | TeamsChannel | SlackChannel | EmailChannel
HTTP_TIMEOUT_S = 20.0


class DeliveryError(Exception):
    """The channel did not take the message; the text is safe to store and show."""


async def send(
    channel: AnyChannel, message: Message, secrets: SecretResolver, *, base_dir: Path
) -> None:
    """Deliver ``message`` on ``channel`` or raise :class:`DeliveryError`."""
    try:
        if isinstance(channel, EmailChannel):
            await asyncio.to_thread(_send_mail, channel, message, secrets, base_dir)
        elif isinstance(channel, WebhookChannel):
            body = webhook_body(message)
            key = secrets.resolve(channel.signing_key).reveal().encode()
            headers = {
                "Content-Type": "application/json",
                "ESS-Delivery": message.key,
                "ESS-Event": message.event,
                "ESS-Signature": signature(key, int(time.time()), body),
            }
            await _post(channel.url, body, headers)
        else:
            url = secrets.resolve(channel.url).reveal()
            if problem := check_url(url):
                raise DeliveryError(f"the URL in {channel.url}: {problem}")
            shaped = (
                teams_body(message) if isinstance(channel, TeamsChannel) else slack_body(message)
            )
            await _post(url, orjson.dumps(shaped), {"Content-Type": "application/json"})
    except SecretError as exc:
        raise DeliveryError(str(exc)) from None


async def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, follow_redirects=False) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        raise DeliveryError("no answer in time") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"cannot connect ({type(exc).__name__})") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"the receiver answered HTTP {response.status_code}")


def _tls(channel: EmailChannel, base_dir: Path) -> ssl.SSLContext:
    if channel.ca_file is None:
        return ssl.create_default_context()
    ca = channel.ca_file if channel.ca_file.is_absolute() else base_dir / channel.ca_file
    try:
        return ssl.create_default_context(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"cannot read the CA file {ca}: {exc}") from None


def _send_mail(
    channel: EmailChannel, message: Message, secrets: SecretResolver, base_dir: Path
) -> None:
    mail = email_message(message, channel.sender, channel.to)
    where = f"{channel.host}:{channel.port}"
    try:
        smtp: smtplib.SMTP
        if channel.security == "tls":
            smtp = smtplib.SMTP_SSL(
                channel.host,
                channel.port,
                timeout=channel.timeout_s,
                context=_tls(channel, base_dir),
            )
        else:
            smtp = smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_s)
        with smtp:
            if channel.security == "starttls":
                smtp.starttls(context=_tls(channel, base_dir))
            if channel.username is not None and channel.password is not None:
                smtp.login(channel.username, secrets.resolve(channel.password).reveal())
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"{where} refused the login ({exc.smtp_code})") from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(f"{where} does not offer STARTTLS; set security") from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"{where} answered {exc.smtp_code}") from None
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"{where}: {type(exc).__name__}") from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"{where}: TLS failed ({exc.reason})") from None
    except OSError as exc:
        raise DeliveryError(
            f"cannot connect to {where} ({exc.strerror or type(exc).__name__})"
        ) from None
