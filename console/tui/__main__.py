"""`python -m console.tui --config ess.toml [--read-only]`: the console without the ess CLI."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from console.tui.app import run_console
from engine.ops import os_actor


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m console.tui", description="The ESS operations console."
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="ess.toml (default: $ESS_CONFIG or ./ess.toml)"
    )
    parser.add_argument("--read-only", action="store_true", help="show everything, change nothing")
    parser.add_argument(
        "--actor", default=None, help="a note for the audit beside the OS user who acts"
    )
    args = parser.parse_args(argv)
    actor = os_actor("console", args.actor, host=socket.gethostname())
    run_console(args.config, read_only=args.read_only, actor=actor)


if __name__ == "__main__":
    main()
