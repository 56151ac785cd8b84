"""The multipart/mixed answer to a batch, read as Google writes it: parts in any order, each
named by its Content-ID, each an HTTP answer with its own status, headers and JSON body (UTF-8
as sent), and an answer that is not a whole batch refused rather than half read."""

from __future__ import annotations

import pytest

from adapters.google import calls
from adapters.google.batch import BatchFormatError, decode, encode

BOUNDARY = "batch_7Ml1Xq"
TYPE = f'multipart/mixed; boundary="{BOUNDARY}"'


def _part(index: int, status: str, headers: str = "", body: str = "") -> str:
    return (
        f"--{BOUNDARY}\r\nContent-Type: application/http\r\n"
        f"Content-ID: <response-ess + {index}>\r\n\r\n"
        f"HTTP/1.1 {status}\r\nContent-Type: application/json; charset=UTF-8\r\n{headers}\r\n"
        f"{body}\r\n"
    )


def test_parts_in_any_order_are_read_back_in_the_order_of_the_calls() -> None:
    answer = (
        _part(2, "204 No Content")
        + _part(0, "200 OK", body='{"id": "7", "name": {"givenName": "Björn"}}')
        + _part(1, "429 Too Many Requests", "Retry-After: 30\r\n", '{"error": {"code": 429}}')
        + f"--{BOUNDARY}--\r\n"
    )
    first, second, third = decode(TYPE, answer.encode(), 3)
    assert (first.status, first.body) == (200, {"id": "7", "name": {"givenName": "Björn"}})
    assert (second.status, second.headers["retry-after"]) == (429, "30")
    assert second.body == {"error": {"code": 429}}
    assert (third.status, third.body) == (204, None)


def test_a_boundary_without_quotes_and_bare_newlines_are_read_too() -> None:
    answer = (_part(0, "200 OK", body="{}") + f"--{BOUNDARY}--").replace("\r\n", "\n")
    (only,) = decode(f"multipart/mixed; boundary={BOUNDARY}", answer.encode(), 1)
    assert (only.status, only.body) == (200, {})


def test_an_answer_that_is_not_a_whole_batch_is_refused() -> None:
    whole = _part(0, "200 OK", body="{}") + f"--{BOUNDARY}--\r\n"
    with pytest.raises(BatchFormatError, match=r"lacks part\(s\) \[1\]"):
        decode(TYPE, whole.encode(), 2)
    with pytest.raises(BatchFormatError, match="not multipart"):
        decode("application/json", b"{}", 1)
    nameless = whole.replace("Content-ID: <response-ess + 0>\r\n", "")
    with pytest.raises(BatchFormatError, match="no usable Content-ID"):
        decode(TYPE, nameless.encode(), 1)


def test_each_request_gets_a_boundary_of_its_own_that_its_parts_do_not_hold() -> None:
    made = [calls.get_user("a@s.example"), calls.patch_user("b@s.example", {"suspended": True})]
    (type_a, body_a), (type_b, _) = encode(made, "Bearer t"), encode(made, "Bearer t")
    assert type_a != type_b
    boundary = type_a.partition("boundary=")[2]
    assert body_a.decode().count(f"--{boundary}") == len(made) + 1
