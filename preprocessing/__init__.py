"""The one drawing preprocessing: strokes or images in, Quick Draw-style 28x28 bitmaps out.

Training, the Python prediction endpoint and (through ``spec.json``) the browser all use
this package, so that the model sees every drawing the way it saw its training data.
"""
