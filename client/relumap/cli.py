"""The ``relumap`` command: the client from a shell.

Human-readable tables by default, ``--json`` for machines. Exit codes: 0 on
success, 1 when the request failed (the service's problem detail, a connection
failure or a local error such as an unreadable file, on stderr), 2 for a usage
error, 141 without a word when the reader of the output goes away (``| head``).
``--url`` and ``--api-key`` default to ``RELUMAP_URL`` and ``RELUMAP_API_KEY``.

Examples
--------
.. code-block:: sh

    relumap datasets generate square --n-samples 200
    relumap fit 0f3c... --hidden 16 16 --activation relu --wait
    relumap knots 9d6d...
    relumap plot 9d6d... fit.png
    relumap models export 9d6d... model.onnx
    relumap network model.onnx
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from relumap import _commands as run
from relumap._version import __version__
from relumap.client import Client
from relumap.errors import RelumapError, ValidationError

__all__ = ["main"]

Handler = Callable[[Client, argparse.Namespace, TextIO], Any]


def _common(parser: argparse.ArgumentParser, top: bool) -> None:
    """Options every command takes, before or after its name."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--url", default=default, help="service URL (default: $RELUMAP_URL)")
    parser.add_argument("--api-key", default=default, help="API key (default: $RELUMAP_API_KEY)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=default,
        help="seconds to wait for each answer (default: 60)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print JSON for machines",
    )


def _fit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help="dataset id")
    parser.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=[16],
        metavar="N",
        help="hidden layer sizes (default: 16)",
    )
    parser.add_argument(
        "--task",
        default="auto",
        choices=["auto", "regression", "classification"],
        help="what to fit; auto: classification for labels, else regression (default: auto)",
    )
    parser.add_argument(
        "--solver",
        default="lbfgs",
        choices=["lbfgs", "adam", "sgd"],
        help="scikit-learn's solver (default: lbfgs)",
    )
    parser.add_argument(
        "--alpha", type=float, default=1e-4, help="L2 penalty on the weights (default: 1e-4)"
    )
    parser.add_argument(
        "--max-iter", type=int, default=1000, help="solver iterations at most (default: 1000)"
    )
    parser.add_argument(
        "--random-state", type=int, default=0, help="seed of the weights and split (default: 0)"
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="fraction held out for the test metrics, 0 for none (default: 0.2)",
    )
    parser.add_argument(
        "--n-restarts",
        type=int,
        default=1,
        help="fits from successive seeds; the lowest training loss is kept (default: 1)",
    )
    parser.add_argument(
        "--no-standardize",
        action="store_true",
        help="train on the raw inputs and target instead of standardized ones",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _page_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page", type=int, help="only this page, from 1 (default: every page)")
    parser.add_argument(
        "--page-size", type=int, help="items per page (default: the most the service allows)"
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``relumap`` command."""
    parser = argparse.ArgumentParser(
        prog="relumap", description="See exactly what a ReLU network computes."
    )
    parser.add_argument("--version", action="version", version=f"relumap {__version__}")
    _common(parser, top=True)
    root = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(sub: Any, name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        found: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help)
        _common(found, top=False)
        found.set_defaults(handler=handler)
        return found

    command(root, "info", run.info, "the service's version and limits")
    datasets = root.add_parser("datasets", help="list, show, generate, upload, delete")
    sub = datasets.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = command(sub, "list", run.datasets_list, "list data sets")
    _page_options(p)
    command(sub, "show", run.datasets_show, "show a data set").add_argument(
        "dataset", help="dataset id"
    )
    p = command(sub, "generate", run.datasets_generate, "generate a built-in data set")
    p.add_argument("kind", help="square, abs, sine, step, sawtooth, circle, xor, spiral, ...")
    p.add_argument("--n-samples", type=int, default=200, help="number of points (default: 200)")
    p.add_argument(
        "--noise", type=float, default=0.0, help="standard deviation of the noise (default: 0)"
    )
    p.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed; the same seed, the same data (default: 0)",
    )
    p.add_argument("--name", help="a name for the data set")
    p = command(sub, "upload", run.datasets_upload, "upload a CSV file with a header row")
    p.add_argument("file", help="CSV file: a header row, then one row per point")
    p.add_argument("--target", help="the target column (default: y)")
    p.add_argument("--name", help="a name for the data set (default: the file name)")
    p = command(sub, "delete", run.datasets_delete, "delete a data set")
    p.add_argument("dataset", help="dataset id")
    p.add_argument("--cascade", action="store_true", help="also delete its models")

    p = command(root, "fit", run.fit, "fit a network on a data set")
    _fit_options(p)
    p.add_argument(
        "--activation",
        default="relu",
        choices=["relu", "identity"],
        help="hidden activation; identity collapses to one affine map (default: relu)",
    )
    p.add_argument(
        "--wait",
        type=float,
        nargs="?",
        const=-1.0,
        metavar="SECONDS",
        help="wait for the fit (at most SECONDS), with a progress bar",
    )

    models = root.add_parser("models", help="list, show, delete")
    sub = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = command(sub, "list", run.models_list, "list models")
    p.add_argument("--dataset", help="only the models fitted on this dataset id")
    p.add_argument(
        "--status",
        choices=["queued", "running", "succeeded", "failed"],
        help="only the models with this status",
    )
    _page_options(p)
    command(sub, "show", run.models_show, "show a model and its metrics").add_argument(
        "model", help="model id"
    )
    command(sub, "delete", run.models_delete, "delete a model").add_argument(
        "model", help="model id"
    )
    p = command(sub, "export", run.models_export, "save a model as an ONNX file (float64)")
    p.add_argument("model", help="model id")
    p.add_argument("file", help="where to write it, say model.onnx")
    p = command(
        root,
        "network",
        run.network,
        "store a network from an ONNX file (PyTorch, skl2onnx, relumap) or a JSON weights file",
    )
    p.add_argument("file", help="a .onnx or .json file (else told apart by content)")
    p.add_argument("--name", help="a name for the network")

    p = command(root, "knots", run.knots, "exact knots and pieces of a 1D model or a line slice")
    p.add_argument("model", help="model id")
    p.add_argument(
        "--lo", type=float, help="left end (default: the data's interval widened by 10%%)"
    )
    p.add_argument(
        "--hi", type=float, help="right end (default: the data's interval widened by 10%%)"
    )
    p.add_argument("--axis", help="cut along this feature (index or name)")
    p.add_argument("--at", help="reference point: median (default), mean, row:K or x1,...,xd")
    p.add_argument("--start", metavar="X1,...,XD", help="cut along the segment start-end")
    p.add_argument("--end", metavar="X1,...,XD", help="the segment's other end (with --start)")
    p = command(root, "regions", run.regions, "exact linear regions of a 2D model or a plane slice")
    p.add_argument("model", help="model id")
    p.add_argument(
        "--box",
        type=float,
        nargs=4,
        metavar=("XMIN", "YMIN", "XMAX", "YMAX"),
        help="the rectangle to map (default: the data's box widened by 10%% per side)",
    )
    p.add_argument(
        "--max-regions", type=int, help="fail rather than compute more regions than this"
    )
    p.add_argument("--axes", metavar="I,J", help="cut the plane of two features (indices or names)")
    p.add_argument("--at", help="reference point: median (default), mean, row:K or x1,...,xd")
    p.add_argument("--origin", metavar="X1,...,XD", help="cut the plane origin + s u + t v")
    p.add_argument("--u", metavar="X1,...,XD", help="first direction of the plane (with --origin)")
    p.add_argument("--v", metavar="X1,...,XD", help="second direction of the plane (with --origin)")
    p.add_argument("--geojson", metavar="PATH", help="write a GeoJSON FeatureCollection")
    p = command(root, "predict", run.predict, "predict the points of a CSV file ('-': stdin)")
    p.add_argument("model", help="model id")
    p.add_argument("points", help="CSV file of points, one per row, header optional; '-' for stdin")
    p = command(root, "plot", run.plot, "draw a model to an image file (needs relumap[plot])")
    p.add_argument("model", help="model id")
    p.add_argument("output", help="image file; its extension picks the format (.png, .svg, .pdf)")
    p.add_argument(
        "--color-by",
        choices=["region", "value", "class"],
        help="2D fill: by linear region, output value or class (default: class or value)",
    )
    p.add_argument(
        "--dpi", type=int, default=120, help="resolution of a raster image (default: 120)"
    )
    p = command(root, "compare", run.compare, "fit ReLU and identity networks side by side")
    _fit_options(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``relumap`` command; return its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for usage errors, 0 for --help
        return int(exc.code or 0)
    timeout = (3.05, args.timeout) if args.timeout else (3.05, 60.0)
    try:
        with Client(args.url, api_key=args.api_key, timeout=timeout) as client:
            args.handler(client, args, sys.stdout)
    except BrokenPipeError:  # before OSError, which it is
        return _closed_pipe()
    except ValidationError as exc:
        print(f"relumap: error: {exc}", file=sys.stderr)
        for field, problems in exc.errors.items():
            print(f"  {field}: {problems}", file=sys.stderr)
        return 1
    except (RelumapError, ImportError, OSError) as exc:
        print(f"relumap: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def _closed_pipe() -> int:
    """Exit quietly when the reader went away (``relumap regions ... | head``).

    As Python's documentation advises, stdout is pointed at devnull so that the
    interpreter's last flush at exit does not fail again; the status is a
    shell's for a process ended by SIGPIPE (128 + 13).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # a stdout without a file descriptor
        pass
    return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
