"""``python3 -m presshil.plant``: the plant server (same as ``presshil plant serve``)."""

from __future__ import annotations

import argparse
import sys

from ..serving.main import server_arguments
from .serve import plant_serve_main
from .server import DEFAULT_PLANT_PORT


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(
        prog="python3 -m presshil.plant",
        description="Serve a simulated press WITHOUT its controller, for firmware in the loop.",
    )
    server_arguments(parser, default_port=DEFAULT_PLANT_PORT)
    parser.add_argument(
        "--link-quiet-ms",
        type=float,
        default=None,
        help="drop the actuator to SAFE when no command came for this long (default: never)",
    )
    parser.add_argument(
        "--rtu-gap-ms",
        type=float,
        default=None,
        help="silence that ends a partial RTU frame (default: 3.5 characters, at least 5 ms)",
    )
    args = parser.parse_args(argv)
    return plant_serve_main(
        args.press,
        args.modbus_tcp,
        args.modbus_rtu,
        args.bind,
        baud=args.baud,
        json_lines=args.json,
        link_quiet_ms=args.link_quiet_ms,
        rtu_gap_ms=args.rtu_gap_ms,
    )


if __name__ == "__main__":
    sys.exit(main())
