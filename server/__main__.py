"""``python -m server``: the MCP server without the CLI (``ess mcp`` calls the same functions)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.config import ConfigError
from engine.ops import OpsError
from server.app import ServeError, run_http, run_stdio
from server.toolsets import TOOLSETS, ToolsetError, parse_toolsets


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    p.add_argument("--config", type=Path, default=None, help="ess.toml (default: $ESS_CONFIG)")
    p.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8700, help="HTTP port (default 8700)")
    p.add_argument("--token", default=None, help="bearer token reference, env:NAME or file:PATH")
    p.add_argument("--allow-writes", action="store_true", help="serve the operations toolset")
    p.add_argument("--toolsets", default=None, help=f"comma-separated, from {','.join(TOOLSETS)}")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        toolsets = parse_toolsets(args.toolsets)
        if args.http:
            run_http(
                args.config,
                host=args.host,
                port=args.port,
                allow_writes=args.allow_writes,
                toolsets=toolsets,
                token_ref=args.token,
            )
        else:
            run_stdio(args.config, allow_writes=args.allow_writes, toolsets=toolsets)
    except (ConfigError, ServeError, ToolsetError, OpsError) as exc:
        print(f"ess mcp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
