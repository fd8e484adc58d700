"""TF.js goes out gzip-compressed to browsers that accept it, and byte-identical once decoded."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

VENDOR_FILES = ["tf.es2017.min.js", "tf-backend-wasm.es2017.min.js", "tfjs-backend-wasm-simd.wasm"]


@pytest.fixture
def vendor(app) -> Path:
    """The vendor folder `make setup` fills; its absence is a broken set-up, not a skip."""
    folder = Path(app.static_folder) / "vendor"
    if not all((folder / f"{name}.gz").is_file() for name in VENDOR_FILES):
        pytest.fail(f"{folder} lacks TF.js or its .gz copies: run `make setup`")
    return folder


@pytest.mark.parametrize("name", VENDOR_FILES)
def test_vendor_files_are_sent_compressed(client, vendor, name):
    response = client.get(f"/static/vendor/{name}", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    expected_type = "application/wasm" if name.endswith(".wasm") else "text/javascript"
    assert response.mimetype == expected_type
    assert len(response.data) < 0.4 * (vendor / name).stat().st_size
    assert gzip.decompress(response.data) == (vendor / name).read_bytes()


def test_clients_without_gzip_get_the_plain_file(client, vendor):
    response = client.get("/static/vendor/tf.es2017.min.js", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.data == (vendor / "tf.es2017.min.js").read_bytes()


def test_missing_vendor_file_is_404_not_a_gz_leak(client, vendor):
    assert client.get("/static/vendor/nothing.js", headers={"Accept-Encoding": "gzip"}).status_code == 404


def test_other_static_files_are_untouched(client):
    response = client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
