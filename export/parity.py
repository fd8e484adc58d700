"""Prove the exported TF.js model predicts what the Keras model predicts, in Node and in Chromium.

Both runtimes load the web model from disk as the page does (graph model, WASM backend),
predict on the same bitmaps, and are compared with the Keras model after
``export.quantization.apply_to_model`` with the export's quantization: the model the Python
server runs. The report gives the largest probability difference and the top-1 agreement.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from export.chromium import launch_options

REPO_ROOT = Path(__file__).resolve().parents[1]
NODE_SCRIPT = Path(__file__).with_name("parity_node.mjs")
VENDOR_DIR = REPO_ROOT / "webapp" / "static" / "vendor"
PAGE_TEMPLATE = REPO_ROOT / "webapp" / "templates" / "base.html"
RUNTIMES = ("node", "chromium")
NODE = os.environ.get("NODE", "node")
# The page never reaches the network: Playwright answers every request to this origin.
FAKE_ORIGIN = "http://tfjs-parity.test"
BATCH_SIZE = 256
# Float32 arithmetic in a different order (WASM kernels vs TensorFlow's) moves softmax
# outputs by about 1e-7; anything near 1e-4 would be a real difference in the model.
DEFAULT_MAX_DIFF = 1e-4
NODE_TIMEOUT_S = 300
BROWSER_TIMEOUT_MS = 300_000

_VENDOR_SCRIPT = re.compile(r"""filename=['"]vendor/([\w.-]+\.js)['"]""")

# Runs in the page: load the graph model on the WASM backend, as webapp/static/js/model.js does.
_PREDICT_IN_PAGE = """async ({count, side, batchSize}) => {
  tf.wasm.setWasmPaths(location.origin + '/vendor/');
  if (!(await tf.setBackend('wasm'))) throw new Error('the WASM backend did not start');
  await tf.ready();
  const model = await tf.loadGraphModel('/model/model.json');
  const inputs = new Float32Array(await (await fetch('/inputs.bin')).arrayBuffer());
  const pixels = side * side;
  const outputs = [];
  for (let start = 0; start < count; start += batchSize) {
    const size = Math.min(batchSize, count - start);
    const batch = inputs.subarray(start * pixels, (start + size) * pixels);
    const output = tf.tidy(() => model.predict(tf.tensor(batch, [size, side, side, 1], 'float32')));
    outputs.push(...(await output.data()));
    output.dispose();
  }
  return {backend: tf.getBackend(), outputs};
}"""


class ParityError(RuntimeError):
    """A TF.js runtime could not load or run the exported model."""


def predict_node(web_dir: Path, images: np.ndarray, backend: str = "wasm") -> np.ndarray:
    """Predict ``images`` (N, 28, 28, 1) with the web model in Node; returns float32 (N, C)."""
    images = np.ascontiguousarray(images, dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="parity-node-") as scratch:
        inputs_path, outputs_path = Path(scratch) / "inputs.bin", Path(scratch) / "outputs.bin"
        images.tofile(inputs_path)
        command = [NODE, str(NODE_SCRIPT), "--model", str(web_dir), "--inputs", str(inputs_path),
                   "--count", str(len(images)), "--out", str(outputs_path), "--backend", backend]
        try:
            result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                                    timeout=NODE_TIMEOUT_S, check=False)
        except FileNotFoundError as error:
            raise ParityError(f"cannot run Node ({NODE}): install Node.js 20 or set NODE") from error
        if result.returncode != 0:
            raise ParityError(f"the Node parity script failed:\n{result.stderr.strip()}")
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        if summary["backend"] != backend:
            raise ParityError(f"Node ran on the {summary['backend']} backend, not {backend}")
        return np.fromfile(outputs_path, dtype=np.float32).reshape(len(images), summary["outputs"])


def predict_chromium(web_dir: Path, images: np.ndarray) -> np.ndarray:
    """Predict ``images`` with the web model in headless Chromium on the WASM backend; float32 (N, C)."""
    result: dict[str, Any] = {}

    # Playwright's sync API refuses to start inside a running event loop (pytest-playwright
    # keeps one for the whole session), so the browser gets a thread of its own.
    def run() -> None:
        try:
            result["outputs"] = _predict_chromium_here(Path(web_dir), images)
        except BaseException as error:  # Re-raised in the caller's thread below.
            result["error"] = error

    worker = threading.Thread(target=run, name="parity-chromium")
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["outputs"]


def _predict_chromium_here(web_dir: Path, images: np.ndarray) -> np.ndarray:
    """Launch Chromium, serve the vendor and model folders on a fake origin, and predict."""
    from playwright.sync_api import Route, sync_playwright

    page_html = "<!doctype html><meta charset='utf-8'><title>parity</title>" + "".join(
        f"<script src='/vendor/{name}'></script>" for name in vendor_scripts()
    )
    images = np.ascontiguousarray(images, dtype=np.float32)
    folders = {"/vendor/": VENDOR_DIR, "/model/": web_dir}
    content_types = {".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}

    def serve(route: Route) -> None:
        path = route.request.url[len(FAKE_ORIGIN):].split("?", 1)[0]
        if path == "/":
            return route.fulfill(body=page_html, content_type="text/html")
        if path == "/inputs.bin":
            return route.fulfill(body=images.tobytes(), content_type="application/octet-stream")
        for prefix, folder in folders.items():
            if path.startswith(prefix):
                file = (folder / path[len(prefix):]).resolve()
                if file.is_file() and file.is_relative_to(folder.resolve()):
                    return route.fulfill(body=file.read_bytes(),
                                         content_type=content_types.get(file.suffix, "application/octet-stream"))
        return route.fulfill(status=404, body="not found")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options())
        try:
            page = browser.new_page()
            page.set_default_timeout(BROWSER_TIMEOUT_MS)
            page.route(f"{FAKE_ORIGIN}/**", serve)
            page.goto(f"{FAKE_ORIGIN}/")
            answer = page.evaluate(_PREDICT_IN_PAGE, {"count": len(images), "side": images.shape[1],
                                                      "batchSize": BATCH_SIZE})
        finally:
            browser.close()
    if answer["backend"] != "wasm":
        raise ParityError(f"Chromium ran on the {answer['backend']} backend, not wasm")
    return np.asarray(answer["outputs"], dtype=np.float32).reshape(len(images), -1)


def vendor_scripts() -> list[str]:
    """The TF.js bundles the web page loads, in order, read from its template so parity runs the same files."""
    names = _VENDOR_SCRIPT.findall(PAGE_TEMPLATE.read_text()) if PAGE_TEMPLATE.is_file() else []
    if not names:
        raise ParityError(f"found no vendor/*.js script in {PAGE_TEMPLATE}")
    missing = [name for name in names if not (VENDOR_DIR / name).is_file()]
    if missing:
        raise ParityError(f"{', '.join(missing)} missing from {VENDOR_DIR}: run `make setup`")
    return names


def compare(reference: np.ndarray, candidate: np.ndarray) -> dict[str, Any]:
    """Largest absolute probability difference and top-1 agreement between two (N, C) arrays."""
    if reference.shape != candidate.shape:
        raise ValueError(f"predictions differ in shape: {reference.shape} vs {candidate.shape}")
    agree = reference.argmax(axis=1) == candidate.argmax(axis=1)
    return {
        "count": int(len(reference)),
        "max_abs_diff": float(np.abs(reference.astype(np.float64) - candidate).max()),
        "top1_agreement": float(agree.mean()),
        "top1_disagreements": int((~agree).sum()),
    }


def keras_predictions(model: Any, images: np.ndarray, quantization: str | None) -> np.ndarray:
    """What the Python server predicts: the Keras model with the export's quantization applied."""
    from export.quantization import apply_to_model

    served = apply_to_model(model, quantization)
    return np.asarray(served.predict(images, batch_size=BATCH_SIZE, verbose=0), dtype=np.float32)


def check_parity(
    model: Any,
    web_dir: Path,
    images: np.ndarray,
    quantization: str | None,
    runtimes: Sequence[str] = ("node",),
    max_diff: float = DEFAULT_MAX_DIFF,
    min_agreement: float = 1.0,
) -> dict[str, Any]:
    """Compare Keras (quantized like the export) with each TF.js runtime; ``passed`` says if all are within bounds."""
    unknown = [name for name in runtimes if name not in RUNTIMES]
    if unknown:
        raise ValueError(f"unknown runtime(s) {unknown}; choose from {list(RUNTIMES)}")
    reference = keras_predictions(model, images, quantization)
    report: dict[str, Any] = {"quantization": quantization, "max_diff_allowed": max_diff,
                              "min_agreement": min_agreement, "runtimes": {}}
    for runtime in runtimes:
        outputs = predict_node(web_dir, images) if runtime == "node" else predict_chromium(web_dir, images)
        measured = compare(reference, outputs)
        measured["backend"] = "wasm"
        measured["passed"] = measured["max_abs_diff"] <= max_diff and measured["top1_agreement"] >= min_agreement
        report["runtimes"][runtime] = measured
    report["passed"] = all(result["passed"] for result in report["runtimes"].values())
    return report


def format_report(report: dict[str, Any]) -> str:
    """One line per runtime, e.g. ``node (wasm): max |p_tfjs - p_keras| 2.4e-07, top-1 agreement 100.00% of 1000``."""
    lines = []
    for runtime, measured in report["runtimes"].items():
        verdict = "ok" if measured["passed"] else "FAILED"
        lines.append(
            f"{runtime} ({measured['backend']}): max |p_tfjs - p_keras| {measured['max_abs_diff']:.2e}, "
            f"top-1 agreement {100 * measured['top1_agreement']:.2f}% of {measured['count']} [{verdict}]"
        )
    return "\n".join(lines)
