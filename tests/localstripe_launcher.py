"""Start localstripe (the fake Stripe server, GPL: run as a separate process, never imported by the app).

Its stock CLI binds every interface and pickles its store to /tmp; this launcher binds 127.0.0.1
only and keeps the store in memory, so parallel test runs never share or leak state.

    python tests/localstripe_launcher.py --port 8420
    python tests/localstripe_launcher.py --port 0    # a port the system picks, printed on the first line
"""

from __future__ import annotations

import argparse
import logging
import socket

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The store is a dict that writes itself to /tmp/localstripe.pickle on every change: keep it in memory.
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)  # connections wait in the backlog from now on, until the server accepts them
    print(sock.getsockname()[1], flush=True)
    logging.basicConfig(level=logging.WARNING)
    web.run_app(server.app, sock=sock, print=None, access_log=None)


if __name__ == "__main__":
    main()
