"""The `anymask` command line: argument parsing and one-line error reporting around the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import AnymaskError


def _cmd_models(args: argparse.Namespace) -> int:
    from .hub import REGISTRY, cache_dir, ensure_checkpoint, find_cached, get_spec

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
    return 0


def _cmd_track(args: argparse.Namespace) -> int:
    from .cli_track import run_track

    return run_track(args)


def _cmd_export(args: argparse.Namespace) -> int:
    from .cli_track import run_export

    return run_export(args)


EXPORT_FORMATS = ("coco", "yolo-det", "yolo-seg", "yolo-obb", "voc", "mot", "mots", "davis", "youtube-vis", "cvat",
                  "xanylabeling")
OUTPUT_MODES = ("polygon", "rectangle", "rotation", "mask")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anymask", description="Annotate images and videos with SAM 2.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    models = commands.add_parser("models", help="list SAM 2 variants, which are cached, download one")
    models.add_argument("--download", metavar="NAME", help="download this model into the cache (e.g. sam2.1-tiny)")
    models.add_argument("--quiet", action="store_true", help="no progress bar")
    models.set_defaults(handler=_cmd_models)

    track = commands.add_parser("track", help="track objects through a video from prompts.json and export them")
    track.add_argument("video", help="a video file, a frame folder or an image folder")
    track.add_argument("--prompts", required=True, type=Path, help='{"objects": [{"id", "label", "frame", "points", "box"}]}')
    track.add_argument("--out", required=True, type=Path, help="output folder (the dataset, and the project unless --project)")
    track.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    track.add_argument("--model", default="sam2.1-tiny", help="a model name or a checkpoint file")
    track.add_argument("--direction", default="forward", choices=("forward", "backward", "both"))
    track.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    track.add_argument("--device", default="cpu")
    track.add_argument("--mode", default="polygon", choices=OUTPUT_MODES, help="output shape")
    track.add_argument("--project", type=Path, help="project folder (default: OUT/project)")
    track.set_defaults(handler=_cmd_track)

    export = commands.add_parser("export", help="export a project as a dataset")
    export.add_argument("project", type=Path, help="the project folder (e.g. clip.mp4.anymask)")
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    export.add_argument("--out", required=True, type=Path)
    export.add_argument("--mode", default="polygon", choices=OUTPUT_MODES)
    export.add_argument("--media", help="the video or folder, if it moved since the project was made")
    export.set_defaults(handler=_cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
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
