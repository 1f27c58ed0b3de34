"""What the data-node tests share: a clock a test moves forward, and demo nodes served over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from visa_verifier.demo_node import DemoNode, make_node_server


class ShiftedClock:
    """A node's clock: real time plus an offset the test moves forward."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def node_servers() -> Iterator[Callable[[DemoNode], str]]:
    """Yields start(app) -> the base URL of the app served in a thread; stops every one after."""
    running = []

    def start(app: DemoNode) -> str:
        server = make_node_server(app, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        running.append((server, app))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, app in running:
        server.shutdown()
        server.server_close()
        # Kept-alive connections to a live server would keep its database sessions open.
        app.close()
