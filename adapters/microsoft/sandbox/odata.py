"""The slice of OData the sandbox understands: $filter, $select, $orderby and opaque tokens.

$filter supports ``eq``, ``ne``, ``in``, ``startswith``, ``endswith``, ``and``, ``or``, ``not`` and
parentheses on plain or slash-separated properties (``student/externalId``). As in Entra, ``ne``,
``not`` and ``endswith`` are "advanced queries" that need ``ConsistencyLevel: eventual`` plus
``$count=true`` (reference §4.5). String comparisons are case-insensitive, as directory string
properties are in Entra [memory: not re-checked per property].
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .errors import GraphError

ADVANCED_OPERATORS = frozenset({"ne", "not", "endswith"})

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<num>-?\d+(?:\.\d+)?(?![\w-]))"
    r"|(?P<word>[A-Za-z_@$][\w/.@$-]*))"
)

Node = tuple[Any, ...]


def unsupported(detail: str) -> GraphError:
    return GraphError(
        400,
        "Request_UnsupportedQuery",
        f"Unsupported or invalid query filter clause specified for property '{detail}' of "
        "resource 'DirectoryObject'.",
    )


@dataclass
class _Parser:
    tokens: list[tuple[str, Any]]
    pos: int = 0
    advanced: bool = False

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        if token is None:
            raise GraphError(400, "BadRequest", "Invalid filter clause: unexpected end of input.")
        self.pos += 1
        return token

    def expect(self, kind: str, value: Any = None) -> tuple[str, Any]:
        token = self.take()
        if token[0] != kind or (value is not None and token[1] != value):
            raise GraphError(400, "BadRequest", f"Invalid filter clause near {token[1]!r}.")
        return token

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and str(token[1]).lower() == word

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.is_word("or"):
            self.take()
            node = ("or", node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self.is_word("and"):
            self.take()
            node = ("and", node, self.parse_not())
        return node

    def parse_not(self) -> Node:
        if self.is_word("not"):
            self.take()
            self.advanced = True
            return ("not", self.parse_not())
        return self.parse_primary()

    def literal(self) -> Any:
        kind, value = self.take()
        if kind == "str":
            return value
        if kind == "num":
            return value
        if kind == "word" and str(value).lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[str(value).lower()]
        raise GraphError(400, "BadRequest", f"Invalid filter clause: {value!r} is not a literal.")

    def parse_primary(self) -> Node:
        token = self.take()
        if token == ("punct", "("):
            node = self.parse_or()
            self.expect("punct", ")")
            return node
        if token[0] != "word":
            raise GraphError(400, "BadRequest", f"Invalid filter clause near {token[1]!r}.")
        name = str(token[1])
        if name.lower() in ("startswith", "endswith"):
            func = name.lower()
            self.advanced = self.advanced or func in ADVANCED_OPERATORS
            self.expect("punct", "(")
            prop = str(self.expect("word")[1])
            self.expect("punct", ",")
            value = self.literal()
            self.expect("punct", ")")
            return ("func", func, prop, value)
        if "/any" in name.lower() or "/all" in name.lower():
            raise unsupported(name)
        op_token = self.expect("word")
        op = str(op_token[1]).lower()
        if op == "in":
            self.expect("punct", "(")
            values = [self.literal()]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(self.literal())
            self.expect("punct", ")")
            return ("in", name, values)
        if op not in ("eq", "ne", "gt", "ge", "lt", "le"):
            raise GraphError(400, "BadRequest", f"Invalid filter clause: unknown operator {op!r}.")
        self.advanced = self.advanced or op in ADVANCED_OPERATORS
        return ("cmp", op, name, self.literal())


@dataclass(frozen=True)
class Filter:
    """A parsed $filter; ``advanced`` says whether it needs ConsistencyLevel: eventual."""

    node: Node
    advanced: bool


def parse_filter(text: str) -> Filter:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            near = text[pos : pos + 20]
            raise GraphError(400, "BadRequest", f"Invalid filter clause near {near!r}.")
        pos = match.end()
        if match.group("str") is not None:
            tokens.append(("str", match.group("str")[1:-1].replace("''", "'")))
        elif match.group("punct") is not None:
            tokens.append(("punct", match.group("punct")))
        elif match.group("num") is not None:
            raw = match.group("num")
            tokens.append(("num", float(raw) if "." in raw else int(raw)))
        elif match.group("word") is not None:
            tokens.append(("word", match.group("word")))
    parser = _Parser(tokens)
    node = parser.parse_or()
    if parser.peek() is not None:
        raise GraphError(400, "BadRequest", f"Invalid filter clause near {parser.peek()!r}.")
    return Filter(node, parser.advanced)


def get_path(obj: Mapping[str, Any], path: str) -> Any:
    """Value of a slash-separated property path, None when any step is missing."""
    value: Any = obj
    for part in path.split("/"):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def evaluate(node: Node, obj: Mapping[str, Any]) -> bool:
    kind = node[0]
    if kind == "or":
        return evaluate(node[1], obj) or evaluate(node[2], obj)
    if kind == "and":
        return evaluate(node[1], obj) and evaluate(node[2], obj)
    if kind == "not":
        return not evaluate(node[1], obj)
    if kind == "in":
        value = _norm(get_path(obj, node[1]))
        return any(value == _norm(v) for v in node[2])
    if kind == "func":
        value = get_path(obj, node[2])
        if not isinstance(value, str) or not isinstance(node[3], str):
            return False
        if node[1] == "startswith":
            return value.lower().startswith(node[3].lower())
        return value.lower().endswith(node[3].lower())
    _, op, prop, literal = node
    left, right = _norm(get_path(obj, prop)), _norm(literal)
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool(
            {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
        )
    except TypeError:
        return False


def index_plan(node: Node, indexed: frozenset[str]) -> list[tuple[str, Any]] | None:
    """Index look-ups whose union holds every match, or None when a scan is needed."""
    kind = node[0]
    if kind == "cmp" and node[1] == "eq" and node[2] in indexed:
        return [(node[2], _norm(node[3]))]
    if kind == "in" and node[1] in indexed:
        return [(node[1], _norm(v)) for v in node[2]]
    if kind == "or":
        left, right = index_plan(node[1], indexed), index_plan(node[2], indexed)
        return None if left is None or right is None else left + right
    if kind == "and":
        left = index_plan(node[1], indexed)
        return left if left is not None else index_plan(node[2], indexed)
    return None


def parse_select(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def apply_select(view: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    """Keep the selected properties (id always, annotations always)."""
    if select is None:
        return view
    keep = {"id", *select}
    return {k: v for k, v in view.items() if k in keep or k.startswith("@")}


class TokenCodec:
    """Opaque, tamper-evident skip and delta tokens (an HMAC over a small JSON payload)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, payload: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=")
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:12]
        return (body + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()

    def decode(self, token: str) -> dict[str, Any] | None:
        try:
            body, mac = token.encode().split(b".", 1)
            expected = hmac.new(self._key, body, hashlib.sha256).digest()[:12]
            given = base64.urlsafe_b64decode(mac + b"=" * (-len(mac) % 4))
            if not hmac.compare_digest(expected, given):
                return None
            payload = orjson.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
        except (ValueError, orjson.JSONDecodeError):
            return None
        return payload if isinstance(payload, dict) else None
