"""The multipart/mixed batch format of Google's APIs: calls out, answers back by Content-ID.

Each part is an ``application/http`` request line with its own headers; the answer echoes each
Content-ID as ``<response-…>`` and may come in any order.
"""

from __future__ import annotations

import email.parser
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .calls import ApiCall


@dataclass(frozen=True)
class PartAnswer:
    status: int
    headers: dict[str, str]
    body: Any


def encode(calls: Sequence[ApiCall], authorization: str) -> tuple[str, bytes]:
    """(Content-Type, body) of a batch of ``calls``; part ``i`` has Content-ID ``<ess + i>``."""
    boundary = "ess_batch_" + secrets.token_hex(12)
    chunks: list[str] = []
    for index, call in enumerate(calls):
        body = json.dumps(call.body) if call.body is not None else ""
        lines = [
            f"--{boundary}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            f"Content-ID: <ess + {index}>",
            "",
            f"{call.method} {call.target} HTTP/1.1",
            f"Authorization: {authorization}",
        ]
        if call.body is not None:
            lines.append("Content-Type: application/json")
        chunks.append("\r\n".join([*lines, "", body]) + "\r\n")
    chunks.append(f"--{boundary}--\r\n")
    return f"multipart/mixed; boundary={boundary}", "".join(chunks).encode()


class BatchFormatError(ValueError):
    """The answer to a batch is not a multipart answer naming each part."""


def decode(content_type: str, body: bytes, count: int) -> list[PartAnswer]:
    """The answers in the order of the calls sent."""
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise BatchFormatError("the batch answer is not multipart")
    answers: dict[int, PartAnswer] = {}
    parts: list[Any] = list(message.get_payload())
    for part in parts:
        cid = str(part.get("Content-ID") or "").strip("<>")
        _, sep, index = cid.rpartition(" + ")
        if not sep or not index.isdigit():
            raise BatchFormatError(f"a batch part has no usable Content-ID ({cid!r})")
        payload = part.get_payload()
        text = payload if isinstance(payload, str) else ""
        head, _, content = text.replace("\r\n", "\n").partition("\n\n")
        lines = head.split("\n")
        status_line = lines[0].split(" ")
        if len(status_line) < 2 or not status_line[1].isdigit():
            raise BatchFormatError(f"batch part {index} has no status line")
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        try:
            data = json.loads(content) if content.strip() else None
        except ValueError:
            data = None
        answers[int(index)] = PartAnswer(int(status_line[1]), headers, data)
    missing = [i for i in range(count) if i not in answers]
    if missing:
        raise BatchFormatError(f"the batch answer lacks part(s) {missing[:5]}")
    return [answers[i] for i in range(count)]
