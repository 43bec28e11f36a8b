"""`anymask batch`: a manifest of videos with prompts or detection seeds -> tracked datasets, on Ray."""

from __future__ import annotations

from pathlib import Path

from .common import DIRECTIONS, EXPORT_FORMATS, add_command, model_options, output_options


def register(commands, parents) -> None:
    parser = add_command(
        commands, "batch", "track every video of a manifest (one Ray task each) and export them", parents, run
    )
    parser.add_argument(
        "manifest",
        type=Path,
        help='{"videos": [{"path", "prompts" | "seeds", ...}]} JSON, JSONL, or a folder of videos with '
        "<video>.prompts.json beside each",
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder: OUT/<video>/<format>, OUT/summary.json")
    parser.add_argument(
        "--format", dest="formats", nargs="+", action="extend", choices=EXPORT_FORMATS, help="(default: coco)"
    )
    parser.add_argument("--direction", default="forward", choices=DIRECTIONS, help="from the first prompted frame")
    parser.add_argument("--start", type=int, default=None, help="first frame of the range to track (default: 0)")
    parser.add_argument("--end", type=int, default=None, help="last frame of the range to track (default: the last)")
    model_options(parser)
    output_options(parser)
    parser.add_argument(
        "--address", default=None, help="join a Ray cluster ('auto', 'ray://HOST:PORT'); default: a local one"
    )
    parser.add_argument("--workers", type=int, default=None, help="videos at a time (default: the cluster's CPUs / 2)")
    parser.add_argument("--gpus-per-task", type=float, default=0.0, help="GPUs each video's task asks for (CUDA)")
    parser.add_argument("--max-retries", type=int, default=3, help="retries of a video whose worker died")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or per-video lines")


def run(args) -> int:
    from ..batch import BatchOptions
    from ..batch.runner import describe, import_ray
    from ..batch.runner import run as run_batch
    from ..errors import AnymaskError

    import_ray()  # the install hint before any work
    if args.workers is not None and args.workers < 1:
        raise AnymaskError(f"--workers {args.workers}: give 1 or more")
    options = BatchOptions(
        formats=tuple(dict.fromkeys(args.formats or ["coco"])),
        model=args.model,
        precision=args.precision,
        device=args.device,
        mode=args.mode,
        tolerance=args.tolerance,
        val=args.val,
        empty_frames=args.empty_frames,
        direction=args.direction,
        start=args.start,
        end=args.end,
    )
    skipped = []
    summary = run_batch(
        args.manifest,
        args.out,
        options,
        address=args.address,
        workers=args.workers,
        gpus_per_task=args.gpus_per_task,
        max_retries=args.max_retries,
        on_result=lambda result: skipped.append(result) if result.status == "skipped" else None,
        progress=not args.quiet,
    )
    if not args.quiet:
        for result in skipped:
            print(describe(result))
    count = len(summary.videos)
    print(
        f"{count - summary.failed} of {count} video(s) done ({len(skipped)} already done before), "
        f"{summary.failed} failed; summary in {summary.path}"
    )
    return min(summary.failed, 100)
