"""The server round trip this product replaces, rebuilt for a side-by-side measurement.

The original report's endpoint took a canvas PNG as a data URL in the form field ``image``,
converted it to grayscale, resized it to 28x28 with NEAREST (no crop, centring or
inversion), re-loaded the Keras model on every request and called ``model.predict``. It is
kept here only as a baseline: nothing in the product uses it.
"""

from __future__ import annotations

import base64
import io
import sys

import numpy as np
from flask import Flask, request
from PIL import Image


def create_baseline_app(keras_model_path: str) -> Flask:
    """A Flask app with the original ``/predict`` endpoint, behaviour for behaviour."""
    app = Flask(__name__)

    @app.post("/predict")
    def predict() -> dict:
        import keras  # Imported here as well, as the original did inside the view.

        data_url = request.form["image"]
        png = base64.b64decode(data_url.split(",", 1)[1])
        image = Image.open(io.BytesIO(png)).convert("L").resize((28, 28), Image.Resampling.NEAREST)
        pixels = np.asarray(image, dtype=np.float32).reshape(1, 28, 28, 1) / 255.0
        model = keras.models.load_model(keras_model_path)
        probabilities = model.predict(pixels, verbose=0)[0]
        return {"class_index": int(np.argmax(probabilities)), "probabilities": probabilities.tolist()}

    return app


def main() -> None:
    """Serve the baseline with waitress: ``python -m benchmarks.baseline_app MODEL PORT``."""
    import waitress

    model_path, port = sys.argv[1], int(sys.argv[2])
    waitress.serve(create_baseline_app(model_path), host="127.0.0.1", port=port, threads=4, _quiet=True)


if __name__ == "__main__":
    main()
