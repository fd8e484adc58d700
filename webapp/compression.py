"""Serve TF.js's vendor files gzip-compressed to browsers that accept it.

TF.js and its WebAssembly binaries are nine tenths of what the page downloads, and gzip
shrinks them to about a third. The build compresses them once (``make setup`` writes
``<file>.gz`` beside each file in ``static/vendor/``), so serving them costs no CPU per
request; a missing ``.gz`` simply means the file goes out as it is.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Flask, Response, request, send_from_directory

VENDOR_PREFIX = "vendor/"


def init_app(app: Flask) -> None:
    """Wrap Flask's static view so vendor files go out precompressed when the client accepts gzip."""
    plain_static = app.view_functions["static"]
    static_folder = Path(app.static_folder or "")

    def static(filename: str) -> Response:
        """A static file, as ``<file>.gz`` with ``Content-Encoding: gzip`` where that helps."""
        if not filename.startswith(VENDOR_PREFIX):
            return plain_static(filename=filename)
        compressed = static_folder / f"{filename}.gz"
        if request.accept_encodings["gzip"] > 0 and compressed.is_file():
            mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            response = send_from_directory(static_folder, f"{filename}.gz", mimetype=mimetype)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = plain_static(filename=filename)
        # Caches must keep the compressed and the plain answer apart.
        response.vary.add("Accept-Encoding")
        return response

    app.view_functions["static"] = static
