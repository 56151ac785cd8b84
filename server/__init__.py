"""The MCP server (`ess mcp`): read-only tools over the ops facade, writes only when allowed."""
