"""Helpers shared by the MCP server tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mcp.types import CallToolResult

CLIENT_NAME = "pytest-client"

ClientFactory = Callable[..., Any]


def structured(result: CallToolResult) -> dict[str, Any]:
    """The structured answer of a successful call (fails the test on an error result)."""
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    text = result.content[0]
    assert text.type == "text"
    return text.text


def everything_text(result: Any) -> str:
    """All of a result as one string (for scans)."""
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False)
