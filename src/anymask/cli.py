"""The `anymask` command line: argument parsing and one-line error reporting around the library."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .errors import AnymaskError


def _cmd_models(args: argparse.Namespace) -> int:
    from .hub import REGISTRY, cache_dir, ensure_checkpoint, find_cached, get_spec
    from .precision import describe_device

    if args.download:
        spec = get_spec(args.download)
        path = ensure_checkpoint(spec.name, download=True, progress=not args.quiet)
        print(f"{spec.name}: {path}")
        return 0
    print(f"{'model':<18} {'size':>7}  status")
    for spec in REGISTRY.values():
        cached = find_cached(spec)
        status = f"cached at {cached}" if cached else "not downloaded"
        print(f"{spec.name:<18} {spec.approx_mb:>4} MB  {status}")
    print(f"\ncache: {cache_dir()}  (set ANYMASK_HOME to move it; the Hugging Face hub cache is searched too)")
    print("download one with: anymask models --download sam2.1-tiny")
    print(f"\n{describe_device(args.device, args.precision)}")
    return 0


def _cmd_track(args: argparse.Namespace) -> int:
    from .cli_track import run_track

    return run_track(args)


def _cmd_segment(args: argparse.Namespace) -> int:
    from .cli_segment import run_segment

    return run_segment(args)


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    run_bench(args.model, args.media, frames=args.frames, repeats=args.repeats, precision=args.precision,
              device=args.device, random_variant=args.random_weights, report=lambda line: print(line, flush=True))
    return 0


def _cmd_gui(args: argparse.Namespace) -> int:
    try:
        from .app import run_app
    except ImportError as exc:
        raise AnymaskError(f"the desktop app needs PySide6 ({exc}): pip install 'anymask[gui]'") from None
    return run_app(args.path, model=args.model, precision=args.precision, device=args.device)


def _cmd_export(args: argparse.Namespace) -> int:
    from .cli_track import run_export

    return run_export(args)


EXPORT_FORMATS = ("coco", "yolo-det", "yolo-seg", "yolo-obb", "voc", "mot", "mots", "davis", "youtube-vis", "cvat",
                  "xanylabeling")
OUTPUT_MODES = ("polygon", "rectangle", "rotation", "mask")


def _model_options(parser: argparse.ArgumentParser, remembered: bool = False) -> None:
    """--model, --precision, --device; `remembered`: no defaults here (the app keeps the last choice)."""
    from .precision import PRECISION_HELP, PRECISION_NAMES

    parser.add_argument("--model", default=None if remembered else "sam2.1-tiny",
                        help="a model name or a checkpoint file" + (" (default: the app's last choice)" if remembered else ""))
    parser.add_argument("--precision", default=None if remembered else "auto", choices=PRECISION_NAMES,
                        help=PRECISION_HELP)
    parser.add_argument("--device", default=None if remembered else "cpu", help="cpu, cuda or cuda:N")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anymask", description="Annotate images and videos with SAM 2.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    models = commands.add_parser("models", help="list SAM 2 variants, which are cached, download one")
    models.add_argument("--download", metavar="NAME", help="download this model into the cache (e.g. sam2.1-tiny)")
    models.add_argument("--quiet", action="store_true", help="no progress bar")
    models.add_argument("--device", default="cpu", help="the device whose precision choice to show (cpu, cuda)")
    models.add_argument("--precision", default="auto", help=argparse.SUPPRESS)
    models.set_defaults(handler=_cmd_models)

    track = commands.add_parser("track", help="track objects through a video from prompts.json and export them")
    track.add_argument("video", help="a video file, a frame folder or an image folder")
    track.add_argument("--prompts", required=True, type=Path, help='{"objects": [{"id", "label", "frame", "points", "box"}]}')
    track.add_argument("--out", required=True, type=Path, help="output folder (the dataset, and the project unless --project)")
    track.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    track.add_argument("--direction", default="forward", choices=("forward", "backward", "both"))
    _model_options(track)
    track.add_argument("--mode", default="polygon", choices=OUTPUT_MODES, help="output shape")
    track.add_argument("--project", type=Path, help="project folder (default: OUT/project)")
    track.add_argument("--quiet", action="store_true", help="no progress lines or bar")
    track.set_defaults(handler=_cmd_track)

    segment = commands.add_parser("segment", help="segment objects on images from prompts.json and export them")
    segment.add_argument("images", help="an image file or a folder of images")
    segment.add_argument("--prompts", required=True, type=Path,
                         help='{"objects": [{"image": "a.jpg", "label", "points": [[x, y, 1|0]], "box"}]}')
    segment.add_argument("--out", required=True, type=Path, help="output folder (the dataset, and the project unless --project)")
    segment.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    _model_options(segment)
    segment.add_argument("--mode", default="polygon", choices=OUTPUT_MODES, help="output shape")
    segment.add_argument("--tolerance", type=float, default=1.0, help="polygon fineness in pixels (0: every boundary pixel)")
    segment.add_argument("--project", type=Path, help="project folder (default: OUT/project)")
    segment.add_argument("--quiet", action="store_true", help="no progress bar")
    segment.set_defaults(handler=_cmd_segment)

    bench = commands.add_parser("bench", help="time image embedding, clicks and tracking on this machine")
    _model_options(bench)
    bench.add_argument("--random-weights", metavar="VARIANT", help="use a randomly initialised VARIANT (no download; "
                       "speed does not depend on the weights), e.g. sam2.1-tiny")
    bench.add_argument("--media", help="a video or folder to use (default: a synthetic 640x480 clip)")
    bench.add_argument("--frames", type=int, default=10, help="frames to track (0: images only)")
    bench.add_argument("--repeats", type=int, default=3)
    bench.set_defaults(handler=_cmd_bench)

    gui = commands.add_parser("gui", help="open the desktop app")
    gui.add_argument("path", nargs="?", help="a video, frame folder or image folder to open")
    _model_options(gui, remembered=True)
    gui.set_defaults(handler=_cmd_gui)

    export = commands.add_parser("export", help="export a project as a dataset")
    export.add_argument("project", type=Path, help="the project folder (e.g. clip.mp4.anymask)")
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    export.add_argument("--out", required=True, type=Path)
    export.add_argument("--mode", default="polygon", choices=OUTPUT_MODES)
    export.add_argument("--media", help="the video or folder, if it moved since the project was made")
    export.set_defaults(handler=_cmd_export)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """anymask's own warnings as one line on stderr; others as Python prints them."""
    from .precision import PrecisionWarning

    if issubclass(category, PrecisionWarning):
        print(f"anymask: warning: {message}", file=sys.stderr)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    warnings.showwarning = _show_warning
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except AnymaskError as exc:
        if args.debug:
            raise
        print(f"anymask: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("anymask: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
