"""What the pages hand their JavaScript: API URLs from url_for, and the test hook only where asked for."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/", "/contribute"])
def test_pages_point_the_javascript_at_the_model_api(client, path):
    """The page loads /api/model (metadata + files_url) for the default set, and knows /api/models."""
    page = client.get(path).get_data(as_text=True)
    assert 'data-metadata-url="/api/model?set=accessories"' in page
    assert 'data-models-url="/api/models"' in page
    assert "/static/model/" not in page


@pytest.mark.parametrize("path", ["/", "/contribute"])
def test_the_test_hook_is_off_in_production_pages(make_app, path):
    """window.__doodles is exposed only when TEST_HOOKS is set (browser tests, benchmarks)."""
    assert "data-test-hooks" not in make_app().test_client().get(path).get_data(as_text=True)
    assert 'data-test-hooks="true"' in make_app(TEST_HOOKS=True).test_client().get(path).get_data(as_text=True)


@pytest.mark.parametrize("script_name", ["drawing-page.js", "play.js"])
def test_the_page_script_exposes_the_hook_only_behind_the_switch(script_name):
    """The page scripts set window.__doodles only past ``if (!config.testHooks) return;``, and nowhere else."""
    from pathlib import Path

    script = (Path(__file__).resolve().parents[2] / "webapp" / "static" / "js" / script_name).read_text()
    before, _, after = script.partition("window.__doodles =")
    assert after, f"{script_name} no longer sets the hook"
    assert before.rstrip().endswith("if (!config.testHooks) return;")
