"""``python3 -m presshil.device``: serve a virtual press (what ``presshil serve`` runs).

``--json`` prints one JSON line with the endpoints once listening, for programs that
start the server as a subprocess (see :mod:`presshil.device.spawn`).
"""

from __future__ import annotations

import argparse
import json
import sys

from ..serving.main import server_arguments
from .serve import serve_main
from .server import DEFAULT_TCP_PORT


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run :func:`serve_main`."""
    parser = argparse.ArgumentParser(prog="python3 -m presshil.device", description=__doc__)
    server_arguments(parser, default_port=DEFAULT_TCP_PORT)
    parser.add_argument(
        "--serial", metavar="PTY|DEVICE", help="line protocol: 'pty' creates a pseudo-terminal"
    )
    parser.add_argument("--delay-ms", type=float, default=0.0, help="fault: delay every reply")
    parser.add_argument(
        "--freeze-counter", action="store_true", help="fault: the sample counter stops advancing"
    )
    parser.add_argument("--tls-cert", metavar="PEM", help="server certificate (Modbus/TCP TLS)")
    parser.add_argument("--tls-key", metavar="PEM", help="server private key")
    parser.add_argument("--tls-ca", metavar="PEM", help="CA that client certificates must chain to")
    parser.add_argument("--read-only", action="store_true", help="refuse every write")
    args = parser.parse_args(argv)

    def ready(info: dict) -> None:
        if args.json:
            print(json.dumps({"ready": info}), flush=True)

    return serve_main(
        args.press,
        args.modbus_tcp,
        args.modbus_rtu,
        args.serial,
        args.bind,
        ready,
        baud=args.baud,
        delay_ms=args.delay_ms,
        freeze_counter=args.freeze_counter,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_ca=args.tls_ca,
        read_only=args.read_only,
    )


if __name__ == "__main__":
    sys.exit(main())
