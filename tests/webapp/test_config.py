"""Configuration layering and the secret key: defaults, then FLASK_* variables; never a public secret."""

from __future__ import annotations

import pytest

from webapp import config, create_app


@pytest.fixture
def environment(monkeypatch, tmp_path, web_model):
    """FLASK_* variables for a production-style create_app() (no test_config)."""
    for key in ("FLASK_SECRET_KEY", "FLASK_MAX_STROKES", "FLASK_RATE_LIMIT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("FLASK_DATABASE", str(tmp_path / "env.sqlite3"))
    monkeypatch.setenv("FLASK_DRAWINGS_DIR", str(tmp_path / "env-drawings"))
    monkeypatch.setenv("FLASK_MODEL_DIR", str(web_model.root))
    return monkeypatch


def test_environment_overrides_defaults_with_json_values(environment, tmp_path):
    """FLASK_<KEY> wins over the defaults, and numbers arrive as numbers."""
    environment.setenv("FLASK_MAX_STROKES", "7")
    environment.setenv("FLASK_RATE_LIMIT", "0")
    app = create_app()
    assert app.config["DATABASE"] == str(tmp_path / "env.sqlite3")
    assert app.config["MAX_STROKES"] == 7
    assert app.config["RATE_LIMIT"] == 0
    assert app.config["MAX_POINTS"] == config.MAX_POINTS
    assert (tmp_path / "env.sqlite3").exists()  # Drawings live in the database: no drawings folder.
    assert not (tmp_path / "env-drawings").exists()
    assert not app.debug and not app.testing


def test_missing_secret_key_is_generated_randomly(environment):
    """Without FLASK_SECRET_KEY each start gets its own random key, never a fixed one."""
    first, second = create_app(), create_app()
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] != second.config["SECRET_KEY"]


@pytest.mark.parametrize("secret", ["dev", "changeme"])
def test_public_secret_keys_are_refused_in_production(environment, secret):
    """flaskr's "dev" must never reach production: the app refuses to start with it."""
    environment.setenv("FLASK_SECRET_KEY", secret)
    with pytest.raises(ValueError, match="FLASK_SECRET_KEY"):
        create_app()


def test_form_limit_follows_the_body_limit(make_app):
    """One knob: Flask's separate form-memory limit follows MAX_CONTENT_LENGTH."""
    assert make_app(MAX_CONTENT_LENGTH=12345).config["MAX_FORM_MEMORY_SIZE"] == 12345
