"""`anymask bench`: embed, click and tracking timings on this machine, each printed as it is measured."""

from __future__ import annotations

from .common import add_command, model_options


def register(commands, parents) -> None:
    parser = add_command(commands, "bench", "time image embedding, clicks and tracking on this machine", parents, run)
    model_options(parser)
    parser.add_argument(
        "--random-weights",
        metavar="VARIANT",
        help="use a randomly initialised VARIANT (no download; speed does not depend on the weights), e.g. sam2.1-tiny",
    )
    parser.add_argument("--media", help="a video or folder to use (default: a synthetic 640x480 clip)")
    parser.add_argument("--frames", type=int, default=10, help="frames to track (0: images only)")
    parser.add_argument("--repeats", type=int, default=3)


def run(args) -> int:
    from ..bench import run_bench

    run_bench(
        args.model,
        args.media,
        frames=args.frames,
        repeats=args.repeats,
        precision=args.precision,
        device=args.device,
        random_variant=args.random_weights,
        report=lambda line: print(line, flush=True),
    )
    return 0
