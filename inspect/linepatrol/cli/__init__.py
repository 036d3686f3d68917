"""The ``linepatrol`` command.

The core owns the command and its own subcommands (``detect``, ``edge``, ``info``); the other
packages of the distribution contribute theirs through the ``linepatrol.commands`` entry-point group
(``data``, ``train``, ``serve`` …). Each contributor's ``register(subparsers)`` must stay cheap:
heavy imports (torch, FastAPI) happen inside the command's handler, so ``linepatrol --help``
is fast and a runtime install without the ``train`` extra still works.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from linepatrol import __version__
from linepatrol.cli import detect, edge, info
from linepatrol.cli.errors import UserError
from linepatrol.extras import missing_extra_message

__all__ = ["UserError", "build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]
log = logging.getLogger("linepatrol")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linepatrol",
        description="Find defects and external-damage hazards in UAV photos of power lines.",
    )
    parser.add_argument("--version", action="version", version=f"linepatrol {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    detect.register(sub)
    edge.register(sub)
    info.register(sub)
    for ep in sorted(entry_points(group="linepatrol.commands"), key=lambda e: e.name):
        try:
            register = ep.load()
        except ImportError as exc:  # a package whose extra is not installed
            log.debug("commands %r unavailable: %s", ep.name, exc)
            continue
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(int(args.verbose), 2)
    logging.basicConfig(
        level=level,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except UserError as exc:
        print(f"linepatrol: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # an optional extra the command needs
        message = missing_extra_message(exc)
        if message is None:
            raise
        print(f"linepatrol: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
