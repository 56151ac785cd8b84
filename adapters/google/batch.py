"""The multipart/mixed batch format of Google's APIs: calls out, answers back by Content-ID.

Each part is an ``application/http`` request line with its own headers; the answer echoes each
Content-ID as ``<response-…>`` and may come in any order.
"""

from __future__ import annotations

import json
import random
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
    # no secret: any string the parts do not hold will do, and it costs no system call
    boundary = f"ess_batch_{random.getrandbits(96):024x}"
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
    """The answers in the order of the calls sent. The parts are split on the boundary by
    hand: the answer is a flat multipart/mixed of ``application/http`` parts, and the e-mail
    parser cost more than the rest of a batch's handling together."""
    boundary = _boundary(content_type)
    text = body.decode("utf-8", errors="replace").replace("\r\n", "\n")
    chunks = text.split("--" + boundary)
    if len(chunks) < 2:
        raise BatchFormatError("the batch answer has no part")
    answers: dict[int, PartAnswer] = {}
    for chunk in chunks[1:]:
        if chunk.startswith("--"):
            break  # the closing delimiter
        outer, _, inner = chunk.removeprefix("\n").partition("\n\n")
        index = _content_index(outer)
        head, _, content = inner.partition("\n\n")
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
        answers[index] = PartAnswer(int(status_line[1]), headers, data)
    missing = [i for i in range(count) if i not in answers]
    if missing:
        raise BatchFormatError(f"the batch answer lacks part(s) {missing[:5]}")
    return [answers[i] for i in range(count)]


def _boundary(content_type: str) -> str:
    kind, *params = content_type.split(";")
    if kind.strip().lower().startswith("multipart/"):
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "boundary" and value.strip().strip('"'):
                return value.strip().strip('"')
    raise BatchFormatError("the batch answer is not multipart")


def _content_index(headers: str) -> int:
    """The call index a part answers, from its ``Content-ID: <response-ess + i>``."""
    cid = ""
    for line in headers.split("\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-id":
            cid = value.strip().strip("<>")
    _, sep, index = cid.rpartition(" + ")
    if not sep or not index.isdigit():
        raise BatchFormatError(f"a batch part has no usable Content-ID ({cid!r})")
    return int(index)
