"""The `anymask` command line: argument parsing and one-line error reporting around the library."""

from __future__ import annotations

import argparse
import sys

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anymask", description="Annotate images and videos with SAM 2.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    models = commands.add_parser("models", help="list SAM 2 variants, which are cached, download one")
    models.add_argument("--download", metavar="NAME", help="download this model into the cache (e.g. sam2.1-tiny)")
    models.add_argument("--quiet", action="store_true", help="no progress bar")
    models.set_defaults(handler=_cmd_models)
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
