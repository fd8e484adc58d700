"""The model behind the API: refused at start-up when it does not match, loaded lazily, and
predicting exactly what a direct call of the Keras model predicts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from webapp_support import DRAWINGS, REPO_ROOT, SQUARE, build_tiny_model, write_web_model

from export.metadata import MetadataError
from preprocessing.strokes import drawing_to_bitmap
from training.categories import DEFAULT_CATEGORIES
from webapp.predictor import EXTENSION_KEY, Predictor, PredictorError, get_predictor


def direct_probabilities(keras_model: Path, bitmap: np.ndarray, quantization: str | None = None) -> np.ndarray:
    """The Keras model called directly on one bitmap, as a reference."""
    import keras

    from export.quantization import apply_to_model

    model = apply_to_model(keras.models.load_model(keras_model), quantization)
    return np.asarray(model(bitmap.reshape(1, 28, 28, 1).astype(np.float32), training=False))[0]


@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_api_predicts_what_the_model_predicts(client, web_model, name):
    """/api/predict on strokes equals the Keras model called on preprocessing's bitmap of them."""
    strokes = DRAWINGS[name]
    answer = client.post("/api/predict", json={"strokes": strokes}).get_json()
    expected = direct_probabilities(web_model.keras_model, drawing_to_bitmap(strokes))
    served = np.array([answer["probabilities"][category] for category in DEFAULT_CATEGORIES])
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-6)
    assert answer["label"] == DEFAULT_CATEGORIES[int(np.argmax(expected))]


def test_predictor_is_loaded_lazily_once_per_app(make_app):
    """Creating the app loads no model; the first prediction does, and later ones reuse it."""
    app = make_app(share_predictor=False)
    assert EXTENSION_KEY not in app.extensions
    client = app.test_client()
    assert client.post("/api/predict", json={"strokes": SQUARE}).status_code == 200
    first = app.extensions[EXTENSION_KEY]
    assert isinstance(first, Predictor)
    assert client.post("/api/predict", json={"strokes": SQUARE}).status_code == 200
    assert app.extensions[EXTENSION_KEY] is first


def test_importing_and_creating_the_app_does_not_import_tensorflow(web_model, tmp_path):
    """Pages, stats and contributions never wait for TensorFlow to import."""
    script = (
        "import sys\n"
        "from webapp import create_app\n"
        f"create_app({{'TESTING': True, 'DATABASE': {str(tmp_path / 'db.sqlite3')!r},"
        f" 'DRAWINGS_DIR': {str(tmp_path / 'drawings')!r}, 'WEB_MODEL_DIR': {str(web_model.directory)!r}}})\n"
        "print(sorted(name for name in ('tensorflow', 'keras') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_a_keras_file_that_is_not_the_exported_one_is_refused(make_app, tmp_path):
    """A Keras model whose sha256 differs from metadata.json's is refused with a clear message."""
    other = build_tiny_model(tmp_path / "other.keras", seed=7)
    app = make_app(share_predictor=False, KERAS_MODEL=str(other))
    with pytest.raises(PredictorError, match="not the model the web model was exported from"):
        get_predictor(app)
    response = app.test_client().post("/api/predict", json={"strokes": SQUARE})
    assert response.status_code == 503
    assert response.get_json() == {"error": "the prediction model is unavailable on this server"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"categories": list(reversed(DEFAULT_CATEGORIES))}, "differ from the expected"),
        ({"categories": ["bowtie", "sock"]}, "differ from the expected"),
        ({"preprocessing": {"version": "qd-bitmap-0"}}, "preprocessing version"),
        ({"input_shape": [32, 32, 1]}, "input_shape"),
        ({"format": "tfjs-layers-model"}, "format"),
        ({"quantization": "int4"}, "quantization"),
    ],
)
def test_inconsistent_metadata_stops_the_app_from_starting(make_app, web_model, tmp_path, overrides, message):
    """create_app raises MetadataError, saying what is wrong, for metadata the code cannot serve."""
    broken = write_web_model(tmp_path / "broken", web_model.keras_model, **overrides)
    with pytest.raises(MetadataError, match=message):
        make_app(WEB_MODEL_DIR=str(broken.directory))


def test_missing_web_model_stops_the_app_from_starting(make_app, tmp_path):
    """No metadata.json: the app refuses to start and says how to make one."""
    with pytest.raises(MetadataError, match="make export"):
        make_app(WEB_MODEL_DIR=str(tmp_path / "nowhere"))


def test_configured_categories_replace_the_defaults(make_app, web_model, tmp_path):
    """A deployment may serve other categories when its config says so; stats then follow them."""
    categories = ["cat", "dog", "fish", "bird", "frog", "snail"]
    custom = write_web_model(tmp_path / "custom", web_model.keras_model, categories=categories)
    app = make_app(share_predictor=False, WEB_MODEL_DIR=str(custom.directory), CATEGORIES=categories)
    client = app.test_client()
    assert list(client.get("/api/drawings/stats").get_json()["by_label"]) == categories
    assert client.post("/api/drawings", json={"label": "frog", "strokes": SQUARE}).status_code == 201
    assert client.post("/api/drawings", json={"label": "sock", "strokes": SQUARE}).status_code == 400


@pytest.mark.slow
def test_quantized_metadata_makes_the_server_predict_quantized_weights(make_app, web_model, tmp_path):
    """With float16 in metadata.json the server computes with float16-rounded weights, as the browser does."""
    quantized = write_web_model(tmp_path / "float16", web_model.keras_model, quantization="float16")
    app = make_app(share_predictor=False, WEB_MODEL_DIR=str(quantized.directory))
    answer = app.test_client().post("/api/predict", json={"strokes": SQUARE}).get_json()
    bitmap = drawing_to_bitmap(SQUARE)
    expected = direct_probabilities(web_model.keras_model, bitmap, "float16")
    served = np.array([answer["probabilities"][category] for category in DEFAULT_CATEGORIES])
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-6)
    unquantized = direct_probabilities(web_model.keras_model, bitmap)
    assert not np.array_equal(np.float32(served), np.float32(unquantized))  # The rounding did happen.
    assert json.loads((quantized.directory / "metadata.json").read_text())["quantization"] == "float16"
