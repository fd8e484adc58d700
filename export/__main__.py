"""Command line: ``python -m export --model DIR --out DIR`` and ``python -m export parity --model DIR --web DIR``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from export import convert
from export.parity import ParityError
from training.dataset import default_dataset_dir

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
        description="Convert a trained Keras model into the web app's TF.js graph model (model.json, "
        "weight shards, metadata.json), choosing the weight quantization and checking parity.",
        epilog="Compare an existing export with its Keras model: python -m export parity --help",
    )
    parser.add_argument("--model", type=Path, required=True, help="run folder with model.keras and model_card.json")
    parser.add_argument("--out", type=Path, required=True, help="web model folder to (re)write, e.g. webapp/static/model")
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
    parser.add_argument("--web", type=Path, required=True, help="exported web model folder (with metadata.json)")
    parser.add_argument("--n", type=int, default=convert.DEFAULT_PARITY_COUNT, help="bitmaps (default: %(default)s)")
    parser.add_argument("--runtime", choices=sorted(PARITY_RUNTIME_CHOICES), default="both",
                        help="TF.js runtime(s) to check (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=default_dataset_dir(),
                        help="dataset whose test split supplies the bitmaps; synthetic drawings fill any gap")
    parser.add_argument("--max-diff", type=float, default=1e-4,
                        help="largest allowed |p_tfjs - p_keras| (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def run_export(args: argparse.Namespace) -> int:
    """Export and print the measurements; errors become one line on stderr."""
    convert.export_model(
        args.model,
        args.out,
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
    convert.check_model_shapes(model, web_metadata["categories"])
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
    """Dispatch to ``export`` (the default) or ``parity``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "parity":
        args, command = parity_parser().parse_args(argv[1:]), run_parity
    else:
        args, command = export_parser().parse_args(argv[1:] if argv and argv[0] == "export" else argv), run_export
    try:
        return command(args)
    except (ValueError, ParityError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
