"""Keras model -> TensorFlow.js graph model plus metadata.json, with measured parity.

``python -m export --model models/default --out webapp/static/model`` converts and checks;
``python -m export parity --model DIR --web DIR`` compares Keras with TF.js predictions.
Heavy modules (TensorFlow, tensorflowjs) are imported only by the functions that need them.
"""
