"""The served models behind the API: refused at start-up when unusable, loaded lazily per version,
swapped live when CURRENT changes, and predicting exactly what a direct call of the Keras model predicts."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from webapp_support import DRAWINGS, REPO_ROOT, SQUARE, build_tiny_model, write_web_model

from preprocessing import served
from preprocessing.model_metadata import MetadataError
from preprocessing.strokes import drawing_to_bitmap
from training.categories import DEFAULT_CATEGORIES
from webapp.predictor import PREDICTORS_PER_SET, Predictor, PredictorError, UnknownModel, get_predictor, get_registry


def direct_probabilities(keras_model: Path, bitmap: np.ndarray) -> np.ndarray:
    """The Keras model called directly on one bitmap, as a reference."""
    import keras

    model = keras.models.load_model(keras_model)
    return np.asarray(model(bitmap.reshape(1, 28, 28, 1).astype(np.float32), training=False))[0]


@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_api_predicts_what_the_model_predicts(client, web_model, name):
    """/api/predict on strokes equals the Keras model called on preprocessing's bitmap of them."""
    strokes = DRAWINGS[name]
    answer = client.post("/api/predict", json={"strokes": strokes}).get_json()
    expected = direct_probabilities(web_model.keras_model, drawing_to_bitmap(strokes))
    served_probabilities = np.array([answer["probabilities"][category] for category in DEFAULT_CATEGORIES])
    np.testing.assert_allclose(served_probabilities, expected, rtol=0, atol=1e-6)
    assert answer["label"] in (DEFAULT_CATEGORIES[int(np.argmax(expected))], None)


def test_predictor_is_loaded_lazily_once_per_version(make_app):
    """Creating the app loads no model; the first prediction does, and later ones reuse it."""
    app = make_app(share_predictor=False)
    registry = get_registry(app)
    assert registry.loaded_versions("accessories") == []
    client = app.test_client()
    assert client.post("/api/predict", json={"strokes": SQUARE}).status_code == 200
    first = get_predictor(app)
    assert isinstance(first, Predictor)
    assert client.post("/api/predict", json={"strokes": SQUARE}).status_code == 200
    assert get_predictor(app) is first
    assert registry.loaded_versions("accessories") == ["test-model-1"]


def test_a_keras_file_that_is_not_the_exported_one_is_refused(make_app, web_model, tmp_path):
    """A model.keras whose sha256 differs from metadata.json's is refused with a clear message, then 503."""
    root = write_web_model(tmp_path / "served", web_model.keras_model).root
    other = build_tiny_model(tmp_path / "other.keras", seed=7)
    (root / "accessories" / "test-model-1" / "model.keras").write_bytes(other.read_bytes())
    app = make_app(share_predictor=False, MODEL_DIR=str(root))
    with pytest.raises(PredictorError, match="not the model this version was exported with"):
        get_predictor(app)
    response = app.test_client().post("/api/predict", json={"strokes": SQUARE})
    assert response.status_code == 503
    assert response.get_json() == {"error": "the prediction model is unavailable on this server"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"outputs": ["bowtie", "sock"]}, "outputs"),
        ({"categories": ["bowtie", "other"]}, "never a category"),
        ({"decision": {"other_label": "other", "reject_below": 0, "unsure_below": 0.5, "min_extent": 1}},
         "not one of the outputs"),
        ({"decision": {"other_label": None, "reject_below": 2, "unsure_below": 0.5, "min_extent": 1}}, "reject_below"),
        ({"preprocessing": {"version": "qd-bitmap-0"}}, "preprocessing version"),
        ({"input_shape": [32, 32, 1]}, "input_shape"),
        ({"format": "tfjs-layers-model"}, "format"),
        ({"quantization": "int4"}, "quantization"),
        ({"model_url": "../model.json"}, "model_url"),
        ({"set": "wardrobe"}, "holds version"),
    ],
)
def test_inconsistent_metadata_stops_the_app_from_starting(make_app, web_model, tmp_path, overrides, message):
    """create_app raises MetadataError, saying what is wrong, for metadata the code cannot serve."""
    broken = write_web_model(tmp_path / "served", web_model.keras_model, **overrides)
    with pytest.raises(MetadataError, match=message):
        make_app(MODEL_DIR=str(broken.root))


def test_missing_served_folder_stops_the_app_from_starting(make_app, tmp_path):
    """No CURRENT for the default set: the app refuses to start and says how to make one."""
    with pytest.raises(UnknownModel, match="make export"):
        make_app(MODEL_DIR=str(tmp_path / "nowhere"))


def test_a_relative_model_dir_means_the_working_directory(make_app, web_model, monkeypatch):
    """MODEL_DIR=served (as make exports it) is found from where the server runs, files included."""
    monkeypatch.chdir(web_model.root.parent)
    app = make_app(share_predictor=False, MODEL_DIR=web_model.root.name)
    files_url = app.test_client().get("/api/model").get_json()["files_url"]
    response = app.test_client().get(files_url + "metadata.json")
    assert response.status_code == 200
    assert response.get_json()["version"] == web_model.metadata["version"]


def test_old_metadata_without_sets_or_outputs_is_served_as_six_outputs(make_app, web_model, tmp_path):
    """An export from before "none of these" (no set, title, outputs, decision) serves with the defaults."""
    old = write_web_model(tmp_path / "served", web_model.keras_model)
    metadata = json.loads((old.directory / "metadata.json").read_text())
    for key in ("set", "title", "outputs", "decision"):
        del metadata[key]
    (old.directory / "metadata.json").write_text(json.dumps(metadata))
    answer = make_app(MODEL_DIR=str(old.root)).test_client().get("/api/model").get_json()
    assert answer["outputs"] == answer["categories"] == list(DEFAULT_CATEGORIES)
    assert answer["decision"]["other_label"] is None
    assert (answer["set"], answer["title"]) == ("accessories", "6 accessories")


def two_versions(root: Path, keras_model: Path, tmp_path: Path) -> tuple[str, str]:
    """Versions "v-one" (current) and "v-two" (a different model) of the accessories set under ``root``."""
    write_web_model(root, keras_model, version="v-one")
    write_web_model(root, build_tiny_model(tmp_path / "second.keras", seed=11), version="v-two", current=False)
    return "v-one", "v-two"


def test_a_promoted_version_is_served_without_a_restart(make_app, web_model, tmp_path):
    """/api/model and /api/predict switch together on the request after CURRENT changes, and back on rollback."""
    root = tmp_path / "served"
    first, second = two_versions(root, web_model.keras_model, tmp_path)
    client = make_app(share_predictor=False, MODEL_DIR=str(root)).test_client()
    before = client.post("/api/predict", json={"strokes": SQUARE}).get_json()
    assert before["model"]["version"] == client.get("/api/model").get_json()["version"] == first

    served.promote(root, "accessories", second)
    after = client.post("/api/predict", json={"strokes": SQUARE}).get_json()
    assert after["model"]["version"] == client.get("/api/model").get_json()["version"] == second
    assert after["probabilities"] != before["probabilities"]

    assert served.rollback(root, "accessories") == first
    again = client.post("/api/predict", json={"strokes": SQUARE}).get_json()
    assert again["model"]["version"] == first
    assert again["probabilities"] == before["probabilities"]


def test_an_app_holds_predictors_for_at_most_two_versions(make_app, web_model, tmp_path):
    """Old versions' predictors are dropped: memory holds the current and the previous model."""
    root = tmp_path / "served"
    two_versions(root, web_model.keras_model, tmp_path)
    write_web_model(root, web_model.keras_model, version="v-three", current=False)
    app = make_app(share_predictor=False, MODEL_DIR=str(root))
    client = app.test_client()
    for version in ("v-one", "v-two", "v-three"):
        served.promote(root, "accessories", version)
        assert client.post("/api/predict", json={"strokes": SQUARE}).get_json()["model"]["version"] == version
    assert get_registry(app).loaded_versions("accessories") == ["v-two", "v-three"]
    assert PREDICTORS_PER_SET == 2


def test_concurrent_requests_across_a_switch_each_see_one_version(make_app, web_model, tmp_path):
    """While CURRENT flips, every answer's version matches its probabilities (no half-switched model)."""
    root = tmp_path / "served"
    first, second = two_versions(root, web_model.keras_model, tmp_path)
    app = make_app(share_predictor=False, MODEL_DIR=str(root))
    expected = {}
    for version in (first, second):
        served.promote(root, "accessories", version)
        expected[version] = app.test_client().post("/api/predict", json={"strokes": SQUARE}).get_json()["probabilities"]
    answers, stop = [], threading.Event()

    def ask() -> None:
        client = app.test_client()
        while not stop.is_set():
            answers.append(client.post("/api/predict", json={"strokes": SQUARE}).get_json())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for index in range(20):
        served.promote(root, "accessories", (first, second)[index % 2])
    stop.set()
    for thread in threads:
        thread.join()
    assert answers
    for answer in answers:
        assert answer["probabilities"] == expected[answer["model"]["version"]]


def test_model_metadata_answers_304_for_the_current_version(client):
    """The page polls /api/model with If-None-Match: a bodiless 304 until the version changes."""
    first = client.get("/api/model")
    assert first.headers["ETag"] == '"test-model-1"'
    assert first.headers["Cache-Control"] == "no-cache"
    again = client.get("/api/model", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert client.get("/api/model", headers={"If-None-Match": '"older"'}).status_code == 200


def test_sets_are_listed_and_chosen_per_request(make_app, web_model, tmp_path):
    """/api/models lists every set; ?set= and "set" pick one; an unknown set is a 404 JSON answer."""
    root = tmp_path / "served"
    write_web_model(root, web_model.keras_model)
    write_web_model(root, web_model.keras_model, set_name="wardrobe", version="w-one", title="Whole wardrobe")
    client = make_app(MODEL_DIR=str(root)).test_client()
    listing = client.get("/api/models").get_json()
    assert listing["default"] == "accessories"
    assert [(entry["name"], entry["title"], entry["version"]) for entry in listing["sets"]] == [
        ("accessories", "6 accessories", "test-model-1"), ("wardrobe", "Whole wardrobe", "w-one")]
    assert listing["sets"][0]["categories"] == list(DEFAULT_CATEGORIES)
    wardrobe = client.get("/api/model?set=wardrobe").get_json()
    assert (wardrobe["version"], wardrobe["files_url"]) == ("w-one", "/models/wardrobe/w-one/")
    answer = client.post("/api/predict", json={"strokes": SQUARE, "set": "wardrobe"}).get_json()
    assert answer["model"] == {"version": "w-one", "set": "wardrobe"}
    for response in (client.get("/api/model?set=hats"), client.post("/api/predict", json={"strokes": SQUARE, "set": "hats"}),
                     client.get("/api/model?set=../accessories")):
        assert response.status_code == 404
        assert "unknown model set" in response.get_json()["error"] or "not a model set" in response.get_json()["error"]
    assert client.post("/api/predict", json={"strokes": SQUARE, "set": 3}).status_code == 400


def test_serving_imports_nothing_from_training_export_or_tensorflowjs(web_model, tmp_path):
    """Create the app and answer /api/predict in a fresh interpreter: no training/, export/ or tensorflowjs module loads."""
    script = (
        "import sys\n"
        "from webapp import create_app\n"
        f"app = create_app({{'TESTING': True, 'DATABASE': {str(tmp_path / 'db.sqlite3')!r},"
        f" 'DRAWINGS_DIR': {str(tmp_path / 'drawings')!r}, 'MODEL_DIR': {str(web_model.root)!r}}})\n"
        "before = sorted(name for name in ('tensorflow', 'keras') if name in sys.modules)\n"
        "client = app.test_client()\n"
        f"response = client.post('/api/predict', json={{'strokes': {SQUARE!r}}})\n"
        "assert response.status_code == 200, response.get_data()\n"
        "client.get('/api/model'); client.get('/api/models'); client.get('/'); client.get('/contribute')\n"
        "heavy = ('training', 'export', 'tensorflowjs', 'tensorflow_decision_forests', 'ydf')\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in heavy)\n"
        "print(before, loaded, 'keras' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    # TensorFlow waits for the first prediction; nothing from training, export or the converter ever loads.
    assert result.stdout.strip().splitlines()[-1] == "[] [] True"
