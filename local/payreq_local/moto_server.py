"""The S3/SQS endpoint's process (`python -m payreq_local.moto_server <fd>`): moto's server on a
socket the gateway already bound, so the port is known (and in every function's environment)
before moto has finished importing. It exits when its stdin closes, i.e. with the gateway.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading


def _exit_with_parent() -> None:
    sys.stdin.buffer.read()  # returns at EOF: the gateway closed our stdin or died
    os._exit(0)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the gateway
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    fd = int(argv[0])

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    # One line per request (SQS polls every second) would drown the functions' logs.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(
        "127.0.0.1",
        0,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler,
        fd=fd,
    )
    print("ready", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
