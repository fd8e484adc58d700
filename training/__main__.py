"""``python -m training <command>``: the data and training pipeline's command line.

Each command lives in its own module with ``configure_parser(parser)`` and ``run(args)``.
Only the chosen command's module is imported, because the training modules import
TensorFlow, which takes seconds; ``python -m training --help`` imports none of them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Command -> (module, one-line help), in pipeline order.
COMMANDS: dict[str, tuple[str, str]] = {
    "download": ("training.download", "fetch Quick Draw files into the download cache"),
    "build": ("training.build", "build the train/val/test dataset from the cache and other sources"),
    "report": ("training.report", "redraw a dataset's report images"),
    "export-folders": ("training.folders", "write a dataset as class folders of images"),
    "shard": ("training.shards", "write a built dataset's splits as TFRecord shards with a manifest"),
    "train": ("training.train", "train a model on the dataset"),
    "launch": ("training.launch", "run `train --strategy multiworker` as N worker processes on this machine"),
    "evaluate": ("training.evaluate", "evaluate a trained model on a dataset split"),
    "compare": ("training.compare", "compare trained models"),
    "retrain": ("training.retrain", "retrain on approved contributions; publish only past the promotion gate"),
}


def build_parser(chosen: str | None) -> argparse.ArgumentParser:
    """The parser, with the full flags of the ``chosen`` command only."""
    parser = argparse.ArgumentParser(
        prog="python -m training", description="Quick Draw data to an evaluated Keras model."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (module_name, summary) in COMMANDS.items():
        subparser = subparsers.add_parser(name, help=summary, description=summary)
        if name == chosen:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as error:
                if error.name != module_name:
                    raise  # A missing dependency, not a missing command: show where.
                parser.exit(1, f"error: the {name} command is not available ({module_name} is missing)\n")
            module.configure_parser(subparser)
            subparser.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the command; bad input ends with one message and exit status 1."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # The command is the first word that is not an option (the top level has no valued options).
    chosen = next((word for word in arguments if not word.startswith("-")), None)
    args = build_parser(chosen if chosen in COMMANDS else None).parse_args(arguments)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as error:
        # Every user-facing problem (bad flags, missing data, corrupt files) is one of these.
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
