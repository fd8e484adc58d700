"""Keras model -> TensorFlow.js graph model plus metadata.json, with measured parity.

``python -m export --model models/default [--set accessories]`` converts, checks and serves a new version;
``python -m export promote|rollback|list --set NAME`` switches which version is served;
``python -m export parity --model DIR --web DIR`` compares Keras with TF.js predictions.
Heavy modules (TensorFlow, tensorflowjs) are imported only by the functions that need them.
"""
