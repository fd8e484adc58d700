"""Fixtures for the web app tests, as flaskr's: ``app``, ``client`` and ``runner``, plus the tiny model.

The app gets the tiny model and a throwaway store through ``test_config``; one predictor
is loaded for the whole session and handed to every app, because loading TensorFlow per
test would dominate the run.

The store is SQLite unless a module asks for both backends by overriding ``backend``
(``@pytest.fixture(params=BACKENDS)``): then each test also runs on a real PostgreSQL,
a throwaway cluster started once per session (never a mock). Its tests share one migrated
database, emptied before each test (creating a database takes most of a second).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from webapp_support import (
    WebModel,
    build_tiny_model,
    write_other_model,
    write_reference_model,
    write_web_model,
)

from preprocessing.categories import all_categories
from preprocessing.model_metadata import write_metadata
from webapp import create_app
from webapp.predictor import Predictor, get_registry
from webapp.store import get_store
from webapp.store.postgres import PostgresStore
from webapp.store.throwaway import ThrowawayCluster

TEST_SECRET_KEY = "webapp-tests"
APP_DATABASE = "webapp_tests"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[ThrowawayCluster]:
    """A throwaway PostgreSQL cluster for the whole session, started on first use."""
    cluster = ThrowawayCluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def postgres_app_url(postgres_cluster: ThrowawayCluster) -> str:
    """The URL of the database app tests share, migrated once."""
    url = postgres_cluster.create_database(APP_DATABASE)
    store = PostgresStore(url)
    try:
        store.migrate()
    finally:
        store.close()
    return url


def empty_postgres(url: str) -> None:
    """Delete every row and restart the ids, so a test sees a new store."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("TRUNCATE drawing, review, idempotency_key, rate_limit RESTART IDENTITY CASCADE")


@pytest.fixture
def backend() -> str:
    """The store backend: SQLite unless a module overrides this fixture with params=BACKENDS."""
    return "sqlite"


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """DATABASE_URL for the test's app: None for SQLite, the shared, emptied test database for PostgreSQL."""
    if backend == "sqlite":
        return None
    url = request.getfixturevalue("postgres_app_url")
    empty_postgres(url)
    return url


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


@pytest.fixture(scope="session")
def other_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, WebModel]:
    """Tiny models in one served folder: accessories with "other" (7 outputs) and a reference (345 outputs)."""
    folder = tmp_path_factory.mktemp("other-models")
    return {
        "accessories": write_other_model(folder / "served", build_tiny_model(folder / "other.keras", categories=7)),
        "reference": write_reference_model(folder / "served",
                                           build_tiny_model(folder / "reference.keras", len(all_categories()))),
    }


@pytest.fixture(scope="session")
def other_predictors(other_models: dict[str, WebModel]) -> dict[str, Predictor]:
    """Their predictors, loaded once for the session."""
    return {set_name: Predictor(model.directory, model.metadata) for set_name, model in other_models.items()}


@pytest.fixture
def make_app(tmp_path: Path, web_model: WebModel, predictor: Predictor,
             database_url: str | None) -> Iterator[Callable[..., Flask]]:
    """Return a factory: the app with a store in tmp_path (or the test database), the tiny model, and config overrides."""
    apps: list[Flask] = []

    def make(share_predictor: bool = True, **overrides: Any) -> Flask:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": TEST_SECRET_KEY,
                "DATABASE_URL": database_url,
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
        apps.append(app)
        return app

    yield make
    for app in apps:
        get_store(app).close()


@pytest.fixture
def make_other_app(make_app: Callable[..., Flask], other_models: dict[str, WebModel],
                   other_predictors: dict[str, Predictor]) -> Callable[..., Flask]:
    """Return a factory: the app serving ``other_models`` (a set with "something else" and a reference opinion)."""

    def make(**overrides: Any) -> Flask:
        app = make_app(share_predictor=False, MODEL_DIR=str(other_models["accessories"].root), **overrides)
        registry = get_registry(app)
        for set_name, predictor in other_predictors.items():
            registry.adopt(registry.current(set_name), predictor)
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
