"""The one door every tool answer and tool error leaves by: scrubbed, and argument errors
without the values given.

The tools build their answers from the facade's views; whatever they put in (a label, a tenant
id the caller typed, an adapter's message), the answer is scrubbed here once more, so no
personnummer and no raw control character reaches the client. An argument the tool's schema
refuses is named with what is wrong with it, never with its value: the value may be a secret
or a personnummer the caller pasted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pydantic_core
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, InputRequiredResult, TextContent
from pydantic import AnyUrl, ValidationError

from engine.config import validation_message
from server.runtime import CALLER
from server.scrub import scrub, scrub_text
from server.toolsets import WRITE_TOOLS


class EssMcpServer(MCPServer[dict[str, Any]]):
    """The MCP server whose tool answers and errors are scrubbed in one place."""

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any],
        context: Context[dict[str, Any], Any] | None = None,
    ) -> CallToolResult | InputRequiredResult:
        caller = CALLER.set(context)  # every read of this call is answered for its caller
        try:
            result = await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise  # its message is the library's generic one, with nothing of the call
        except ToolError as exc:
            if name in WRITE_TOOLS and "unknown tool" in str(exc).lower():
                raise ToolError(
                    f"{name} is a write tool, and this server does not serve writes: it was "
                    "started without --allow-writes (or without the operations toolset). "
                    "Ask the operator to start `ess mcp --allow-writes` for actions; the read "
                    "tools work as they are."
                ) from None
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                raise ToolError(
                    f"Error executing tool {scrub_text(name)}: invalid arguments: "
                    f"{scrub_text(validation_message(cause))}. The tool's input schema lists "
                    "what each argument takes."
                ) from cause
            raise ToolError(scrub_text(str(exc))) from cause
        finally:
            CALLER.reset(caller)
        if isinstance(result, CallToolResult):
            return scrubbed_result(result)
        return result

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[dict[str, Any], Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        caller = CALLER.set(context)
        try:
            return await super().read_resource(uri, context)
        finally:
            CALLER.reset(caller)


def scrubbed_result(result: CallToolResult) -> CallToolResult:
    """The result with its structured content and every text block scrubbed (a text block of
    JSON is scrubbed as data, so that what it escapes stays escaped once decoded)."""
    content = [
        block.model_copy(update={"text": _scrubbed_text(block.text)})
        if isinstance(block, TextContent)
        else block
        for block in result.content
    ]
    structured = result.structured_content
    return result.model_copy(
        update={
            "content": content,
            "structured_content": scrub(structured) if structured is not None else None,
        }
    )


def _scrubbed_text(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return scrub_text(text)
    if isinstance(data, str):
        return scrub_text(text)
    return pydantic_core.to_json(scrub(data)).decode()  # compact: an answer costs tokens
