"""Measure the product's speed, size and cost figures: ``python -m benchmarks`` (``make bench``).

Writes ``benchmarks/results/results.json`` (every number, with the machine) and
``results.md`` (the tables the README quotes, each figure beside the baseline it replaces
and the issue's target). Sections can be run alone with ``--only``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from pathlib import Path
from typing import Any

from benchmarks.fixtures import REPO
from benchmarks.machine import describe_machine
from training.dataset import default_dataset_dir

SECTIONS = ("server", "store", "store_scale", "baseline", "browser", "training", "make_train", "flywheel")
DEFAULT_OUT = REPO / "benchmarks" / "results"
MB = 1_000_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags; every default is what ``make bench`` runs."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        help="sections to run (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for results.json and results.md")
    parser.add_argument("--model", type=Path, default=REPO / "models" / "default" / "model.keras",
                        help="Keras model the baseline server re-loads per request")
    parser.add_argument("--data", type=Path, default=default_dataset_dir(),
                        help="dataset the training benchmark reads (built by `make data`; default: $DATA_DIR/dataset)")
    parser.add_argument("--predictions", type=int, default=500, help="timed in-browser predictions per stage")
    parser.add_argument("--scale-rows", type=int, default=200_000,
                        help="drawings the store_scale section loads into PostgreSQL (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="the flywheel's small plan (one honest round and the poisoned one, about a minute)")
    return parser.parse_args(argv)


def run_sections(args: argparse.Namespace, previous: dict[str, Any]) -> dict[str, Any]:
    """Run the chosen sections; sections not chosen keep their previous figures."""
    results = dict(previous)
    for section in args.only:
        print(f"benchmark: {section} ...", flush=True)
        if section == "server":
            from benchmarks.server import bench_product_server
            results[section] = bench_product_server()
        elif section == "store":
            from benchmarks.server import bench_contributions
            results[section] = bench_contributions()
        elif section == "store_scale":
            from benchmarks.store_scale import bench_store_scale
            results[section] = bench_store_scale(args.scale_rows)
        elif section == "baseline":
            from benchmarks.server import bench_baseline_server
            results[section] = bench_baseline_server(args.model)
        elif section == "browser":
            from benchmarks.browser import bench_browser
            results[section] = bench_browser(args.predictions)
        elif section == "training":
            from benchmarks.training_speed import bench_training
            results[section] = bench_training(args.data)
        elif section == "make_train":
            from benchmarks.training_speed import time_make_train
            results[section] = time_make_train()
        elif section == "flywheel":
            from benchmarks.flywheel import bench_flywheel
            results[section] = bench_flywheel(quick=args.quick, out=args.out)
        results.setdefault("measured", {})[section] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    results["machine"] = describe_machine()
    return results


def _get(results: dict[str, Any], *path: Any) -> Any:
    """A nested figure, or None when its section has not been run."""
    value: Any = results
    for key in path:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _fmt(value: Any, digits: int = 2) -> str:
    """A figure for the table: '—' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ratio(baseline: Any, ours: Any) -> str:
    """How many times better ours is (baseline / ours for times; pass inverted figures for rates)."""
    if not baseline or not ours:
        return "—"
    return f"{baseline / ours:.1f}×"


def _target(value: Any, limit: float, at_most: bool = True) -> str:
    """'met' or 'MISSED' against a target; '—' when not measured."""
    if value is None:
        return "—"
    return "met" if (value <= limit if at_most else value >= limit) else "MISSED"


def render_markdown(results: dict[str, Any]) -> str:
    """The results as Markdown tables: figure, baseline, ratio, target."""
    lines = ["# Benchmark results", ""]
    machine = results.get("machine", {})
    lines += [f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
              f"{machine.get('memory_gib', '?')} GiB; {machine.get('os', '')}; Python {machine.get('python', '')}; "
              f"{machine.get('chromium', '')} (headless, `--disable-gpu`). Measured: "
              + ", ".join(f"{k} {v}" for k, v in results.get("measured", {}).items()) + ".", "",
              "Reproduce with `make bench` (all sections) or `.venv/bin/python -m benchmarks --only SECTION`.", ""]

    browser = results.get("browser", {})
    lines += ["## In-browser inference (ms per guess, headless Chromium)", "",
              "| backend (in use) | model call p50 | p95 | whole path strokes→probabilities p50 | p95 | "
              "preprocessing p50 |", "|---|---|---|---|---|---|"]
    for name, row in browser.get("inference", {}).items():
        lines.append(f"| {name} ({row['backend']}) | {_fmt(row['model_only']['p50_ms'], 3)} | "
                     f"{_fmt(row['model_only']['p95_ms'], 3)} | {_fmt(row['whole_path']['p50_ms'], 3)} | "
                     f"{_fmt(row['whole_path']['p95_ms'], 3)} | {_fmt(row['preprocessing_only']['p50_ms'], 3)} |")
    wasm_model = _get(browser, "inference", "wasm", "model_only", "p50_ms")
    wasm_path = _get(browser, "inference", "wasm", "whole_path", "p50_ms")
    webgl_path = _get(browser, "inference", "webgl", "whole_path", "p50_ms")
    lines += ["", f"Targets: WASM model call p50 ≤ 1 ms: **{_target(wasm_model, 1.0)}**; whole path p50 ≤ 3 ms: "
              f"**{_target(wasm_path, 3.0)}**. WASM vs TF.js's default WebGL backend, whole path: "
              f"**{_ratio(webgl_path, wasm_path)}** faster. Timer resolution: "
              f"{'5 µs' if _get(browser, 'inference', 'wasm', 'cross_origin_isolated') else '0.1 ms (page not cross-origin isolated)'}; "
              "means over all samples are in results.json.", ""]

    lines += ["## Perceived latency (pointer event → guess in the DOM, ms)", "",
              "| backend | after a stroke ends p50 | p95 | after every pointer move p50 | p95 |", "|---|---|---|---|---|"]
    for name, row in browser.get("perceived", {}).items():
        lines.append(f"| {name} | {_fmt(row['stroke_end']['p50_ms'], 1)} | {_fmt(row['stroke_end']['p95_ms'], 1)} | "
                     f"{_fmt(row['every_pointer_move']['p50_ms'], 1)} | {_fmt(row['every_pointer_move']['p95_ms'], 1)} |")
    perceived = _get(browser, "perceived", "wasm", "stroke_end", "p95_ms")
    lines += ["", f"Target: p95 ≤ 50 ms: **{_target(perceived, 50.0)}**.", ""]

    load = browser.get("first_load", {})
    if load:
        total = load["total_bytes"]
        baseline = _get(browser, "baseline_page_weight", "total_bytes")
        lines += ["## Page weight and start", "", "| what | bytes on first load |", "|---|---|"]
        lines += [f"| {kind} | {size:,} |" for kind, size in sorted(load["bytes_by_kind"].items())]
        lines += [f"| **total** | **{total:,}** ({total / MB:.2f} MB) |", "",
                  f"Model ready after navigation: p50 {_fmt(load['ready_ms']['p50_ms'], 0)} ms, "
                  f"p95 {_fmt(load['ready_ms']['p95_ms'], 0)} ms (cold cache, loopback); on reload "
                  f"{load['reload_total_bytes']:,} bytes and p50 {_fmt(load['reload_ready_ms']['p50_ms'], 0)} ms. "
                  f"Targets: ≤ 2.5 MB: **{_target(total / MB, 2.5)}**; ready ≤ 1.5 s: "
                  f"**{_target(load['ready_ms']['p50_ms'], 1500.0)}**.",
                  f"A CDN page with `tf.min.js` (gzip) and the same model would transfer about "
                  f"{_fmt((baseline or 0) / MB)} MB and run on WebGL.", ""]

    game = browser.get("play", {})
    if game:
        game_load = game["first_load"]
        sentence = game["perceived"]["pen_move_to_sentence"]
        lines += ["## The game (/play)", "",
                  f"Pen move → guess sentence on screen (WASM, {game['perceived']['drawings']} replayed drawings): "
                  f"p50 {_fmt(sentence['p50_ms'], 1)} ms, p95 {_fmt(sentence['p95_ms'], 1)} ms "
                  f"(aim ≤ 20 ms: **{_target(sentence['p95_ms'], 20.0)}**). First load of /play: "
                  f"{game_load['total_bytes']:,} bytes, model ready p50 {_fmt(game_load['ready_ms']['p50_ms'], 0)} ms.", ""]

    server = results.get("server", {})
    baseline_server = results.get("baseline", {})
    if server:
        lines += ["## Server (`/api/predict`, waitress, loopback)", "",
                  "| body | clients | p50 ms | p95 ms | requests/s | errors |", "|---|---|---|---|---|---|"]
        for body in ("predict_strokes", "predict_image"):
            for row in server.get(body, []):
                lines.append(f"| {body.removeprefix('predict_')} | {row['clients']} | {_fmt(row['p50_ms'])} | "
                             f"{_fmt(row['p95_ms'])} | {_fmt(row['requests_per_second'], 1)} | {row['errors']} |")
        for row in baseline_server.get("predict_image", []):
            lines.append(f"| baseline: original endpoint (PNG, model re-loaded per request) | {row['clients']} | "
                         f"{_fmt(row['p50_ms'])} | {_fmt(row['p95_ms'])} | {_fmt(row['requests_per_second'], 1)} | "
                         f"{row['errors']} |")
        drawings = server.get("drawings_16_clients", {})
        one = _get(server, "predict_strokes", 0, "p50_ms")
        sixteen = _get(server, "predict_strokes", 2, "requests_per_second")
        base_one = _get(baseline_server, "predict_image", 0, "p50_ms")
        image_one = _get(server, "predict_image", 0, "p50_ms")
        lines += ["", f"`/api/drawings` at 16 clients: {_fmt(drawings.get('requests_per_second'), 1)} contributions/s, "
                  f"{drawings.get('errors', '—')} errors, {drawings.get('stored_total', '—')} stored.",
                  f"Targets: p50 ≤ 10 ms at 1 client: **{_target(one, 10.0)}**; ≥ 300 requests/s at 16 clients: "
                  f"**{_target(sixteen, 300.0, at_most=False)}**. Same PNG body, ours vs the original endpoint at "
                  f"1 client: **{_ratio(base_one, image_one)}** faster; the in-browser WASM guess vs the original "
                  f"round trip: **{_ratio(base_one, wasm_path)}** faster.", ""]

    store = results.get("store", {})
    if store:
        lines += ["## Contributions per store (`POST /api/drawings`, waitress, loopback, "
                  f"{store['clients']} clients)", "",
                  "| store | app servers | contributions/s | p50 ms | p95 ms | errors |", "|---|---|---|---|---|---|"]
        for row in store["contributions"]:
            lines.append(f"| {row['store']} | {row['servers']} | {_fmt(row['requests_per_second'], 1)} | "
                         f"{_fmt(row['p50_ms'])} | {_fmt(row['p95_ms'])} | {row['errors']} |")
        sizes = store.get("storage", {})
        alone = store.get("store_only", {})
        lines += ["", "The store alone (one process, 8 writer threads calling `add_drawings`, no HTTP, no model): " +
                  "; ".join(f"{name}: {_fmt(figures['drawings_per_second'], 0)} drawings/s"
                            for name, figures in alone.items()) + "."]
        lines += ["", "Bytes per stored drawing (strokes JSON + 28x28 PNG + columns): " + "; ".join(
            f"{name}: {figures['bytes_per_row']:,} per row, {figures['bytes_per_drawing_on_disk']:,} on disk "
            f"with indexes" for name, figures in sizes.items()) + ".",
                  f"Model a player downloads once ({store['model_download']['folder']}): "
                  f"{store['model_download']['bytes']:,} bytes.", ""]

    scale = results.get("store_scale", {})
    if scale:
        lines += [f"## The store at {scale['rows']:,} drawings (PostgreSQL, durable, loaded with COPY)", "",
                  f"Loaded in {_fmt(scale['load_seconds'], 0)} s ({scale['load_rows_per_second']:,} rows/s; table "
                  f"{scale['table_bytes'] / MB:,.0f} MB with indexes). Counts for `/api/health`: "
                  f"{_fmt(scale['count_ms'])} ms; per label for `/api/drawings/stats`: {_fmt(scale['stats_ms'])} ms; "
                  f"the review queue's first page: {_fmt(scale['review_first_page_ms'])} ms; the store alone: "
                  f"{_fmt(scale['store_inserts']['drawings_per_second'], 0)} drawings/s; the export for retraining: "
                  f"{scale['export']['drawings']:,} approved drawings in {_fmt(scale['export']['seconds'], 0)} s "
                  f"({scale['export']['drawings_per_second']:,}/s).", ""]

    training = results.get("training", {})
    if training:
        lines += ["## Training throughput (images/s, this machine's CPU)", "", "| architecture | input pipeline | images/s |",
                  "|---|---|---|",
                  f"| seed | seed's JPEG folders (`image_dataset_from_directory`) | "
                  f"{_fmt(training['seed_arch_seed_folder_pipeline']['images_per_second'], 0)} |",
                  f"| seed | ours (uint8 arrays in memory, tf.data) | "
                  f"{_fmt(training['seed_arch_our_pipeline']['images_per_second'], 0)} |",
                  f"| default | ours, with augmentation and class balancing | "
                  f"{_fmt(training['default_arch_our_pipeline']['images_per_second'], 0)} |",
                  f"| (none: input pipeline alone) | seed's JPEG folders | "
                  f"{_fmt(training['input_only_seed_folder_pipeline']['images_per_second'], 0)} |",
                  f"| (none: input pipeline alone) | ours | "
                  f"{_fmt(training['input_only_our_pipeline']['images_per_second'], 0)} |", "",
                  f"Same architecture, training throughput speed-up: **{training['pipeline_speedup_same_arch']}×** "
                  f"(target ≥ 3×: **{_target(training['pipeline_speedup_same_arch'], 3.0, at_most=False)}**); "
                  f"input pipeline alone: **{training['input_only_speedup']}×**. The training step itself "
                  "(forward and backward pass on 2 cores) bounds the throughput, so a faster input pipeline "
                  "cannot raise it 3×: see the input-only rows.", ""]
    flywheel = results.get("flywheel")
    if flywheel:
        from benchmarks.flywheel import render_table
        lines += ["## The flywheel (contributions → retrain → gate)", "", render_table(flywheel), "",
                  "Plot: `flywheel.png` beside this file. Target: every honest round promoted, the poisoned one "
                  f"refused: **{'met' if flywheel_met(flywheel) else 'MISSED'}**.", ""]
    make_train = results.get("make_train")
    if make_train:
        lines += [f"`make train` wall time: **{make_train['minutes']} min** (target < 15 min: "
                  f"**{_target(make_train['minutes'], 15.0)}**).", ""]
    return "\n".join(lines)


def flywheel_met(flywheel: dict[str, Any]) -> bool:
    """Every honest round promoted and the poisoned one refused."""
    return all((record["decision"] == "refused") == ("poison" in record) for record in flywheel["rounds"])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write the JSON and Markdown results."""
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "results.json"
    previous = json.loads(json_path.read_text()) if json_path.exists() else {}
    results = run_sections(args, previous)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(render_markdown(results) + "\n")
    print(f"wrote {json_path} and {args.out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
