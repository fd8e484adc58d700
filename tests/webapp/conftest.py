"""Fixtures for the web app tests, as flaskr's: ``app``, ``client`` and ``runner``, plus the tiny model.

The app gets the tiny model and a throwaway store through ``test_config``; one predictor
is loaded for the whole session and handed to every app, because loading TensorFlow per
test would dominate the run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from webapp_support import WebModel, build_tiny_model, write_web_model

from preprocessing.model_metadata import write_metadata
from webapp import create_app
from webapp.predictor import Predictor, get_registry

TEST_SECRET_KEY = "webapp-tests"


@pytest.fixture(scope="session")
def web_model(tmp_path_factory: pytest.TempPathFactory) -> WebModel:
    """The tiny model and its web-model folder, shared by every test."""
    folder = tmp_path_factory.mktemp("model")
    web = write_web_model(folder / "served", build_tiny_model(folder / "model.keras"))
    write_metadata(web.directory, web.metadata)  # The exporter's own check passes on the fixture.
    return web


@pytest.fixture(scope="session")
def predictor(web_model: WebModel) -> Predictor:
    """One loaded predictor for the session."""
    return Predictor(web_model.directory, web_model.metadata)


@pytest.fixture
def make_app(tmp_path: Path, web_model: WebModel, predictor: Predictor) -> Callable[..., Flask]:
    """Return a factory: the app with a store in tmp_path, the tiny model, and config overrides."""

    def make(share_predictor: bool = True, **overrides: Any) -> Flask:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": TEST_SECRET_KEY,
                "DATABASE": str(tmp_path / "doodles.sqlite3"),
                "DRAWINGS_DIR": str(tmp_path / "drawings"),
                "MODEL_DIR": str(web_model.root),
                "RATE_LIMIT": 0,
                **overrides,
            }
        )
        registry = get_registry(app)
        if share_predictor and registry.root == web_model.root:
            registry.adopt(registry.current(), predictor)
        return app

    return make


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The app with an empty store and no rate limit."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A runner for the app's ``flask`` commands."""
    return app.test_cli_runner()
