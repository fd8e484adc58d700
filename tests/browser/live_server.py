"""The app served in-process on 127.0.0.1 from a background thread: for tests that drive it over HTTP."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietRequestHandler(WSGIRequestHandler):
    """Keep werkzeug's one line per request out of the test output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing for successful requests; errors still go through log_error."""


class LiveServer:
    """The app served on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any, name: str = "live-server") -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietRequestHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    def start(self) -> None:
        """Start serving requests."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
