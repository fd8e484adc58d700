"""Serve the app in production with waitress: ``python -m webapp.serve [--host H] [--port P] [--threads N]``.

The app is created (refusing a model whose metadata does not match the code) and the
prediction model is loaded and warmed up before the port opens, so the first visitor does
not wait for TensorFlow and a broken deployment fails here, not on a request.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import waitress

from webapp import create_app
from webapp.predictor import PredictorError, get_predictor
from webapp.store import StoreError, get_store

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_THREADS = 8  # Requests in flight; TensorFlow uses its own thread pool underneath.
# Bodies this many times MAX_CONTENT_LENGTH are refused by waitress itself (plain text 413)
# before they are buffered; smaller oversized bodies reach Flask, which answers JSON 413.
BODY_CAP_FACTOR = 4

logger = logging.getLogger("webapp.serve")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags, with HOST, PORT and THREADS from the environment as defaults."""
    parser = argparse.ArgumentParser(prog="python -m webapp.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", DEFAULT_HOST), help="address to listen on")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)), help="port to listen on")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", DEFAULT_THREADS)),
                        help="worker threads")
    arguments = parser.parse_args(argv)
    if arguments.threads < 1:
        parser.error("--threads must be at least 1")
    return arguments


def main(argv: list[str] | None = None) -> None:
    """Create the app, warm up its model, and serve until interrupted."""
    arguments = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app()
        predictor = get_predictor(app)
    except (ValueError, OSError, PredictorError, StoreError) as error:  # Configuration problems: one clear line.
        logger.error("Cannot start: %s", error)
        sys.exit(1)
    logger.info("Model %s ready (%d categories); drawings in %s", predictor.version, len(predictor.categories),
                get_store(app).description)
    logger.info("Serving on http://%s:%d/", arguments.host, arguments.port)
    waitress.serve(
        app,
        host=arguments.host,
        port=arguments.port,
        threads=arguments.threads,
        max_request_body_size=BODY_CAP_FACTOR * int(app.config["MAX_CONTENT_LENGTH"]),
        ident="fashion-doodles",
    )


if __name__ == "__main__":
    main()
