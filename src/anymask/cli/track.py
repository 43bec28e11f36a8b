"""`anymask track`: prompts.json on a video -> tracked masks in a project -> a dataset."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

from ..errors import AnymaskError
from ..session.prompt_file import apply_prompts_once, read_prompts, tracking_plan
from ..session.runs import pass_frames
from ..vocabulary import STEP_MODES
from .common import (
    DIRECTIONS,
    EXPORT_FORMATS,
    add_command,
    export_as_asked,
    model_options,
    open_session,
    output_options,
)


def register(commands, parents) -> None:
    parser = add_command(
        commands, "track", "track objects through a video from prompts.json and export them", parents, run
    )
    parser.add_argument("video", help="a video file, a frame folder or an image folder")
    parser.add_argument(
        "--prompts", required=True, type=Path, help='{"objects": [{"id", "label", "frame", "points", "box"}]}'
    )
    parser.add_argument(
        "--out", required=True, type=Path, help="output folder (the dataset, and the project unless --project)"
    )
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    parser.add_argument(
        "--direction",
        default="forward",
        choices=DIRECTIONS,
        help="from the first prompted frame; both: forward, then backward",
    )
    parser.add_argument("--start", type=int, default=None, help="first frame of the range to track (default: 0)")
    parser.add_argument("--end", type=int, default=None, help="last frame of the range to track (default: the last)")
    model_options(parser)
    output_options(parser)
    parser.add_argument("--project", type=Path, help="project folder (default: OUT/project)")
    parser.add_argument(
        "--step",
        default="eager",
        choices=STEP_MODES,
        help="graphed: memories at fixed shapes, replayed as CUDA graphs on a GPU; compiled: also torch.compile",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines or bar")


def run(args) -> int:
    from tqdm import tqdm

    from ..models.precision import model_speed_tip

    def say(line: str) -> None:
        if not args.quiet:
            print(line, flush=True)

    prompts = read_prompts(args.prompts)
    out = Path(args.out)
    session = open_session(args.video, args)
    try:
        first, last = _frame_range(args, len(session.source))
        say(f"loading model {args.model} on {args.device} ...")
        loaded = time.perf_counter()
        model = session.model
        say(f"model ready in {time.perf_counter() - loaded:.1f} s; precision {model.precision_choice.describe()}")
        tip = model_speed_tip(model)
        if tip:
            say(f"tip: {tip}")
        resume = not apply_prompts_once(session, prompts, say)
        if resume:
            say(f"the project already holds these prompts: tracking only frames not saved yet ({session.store.folder})")
        passes = tracking_plan(prompts, args.direction, first, last)
        total = sum(len(pass_frames(direction == "backward", start, end)) for direction, start, end in passes)
        bar = tqdm(total=total, unit="frame", desc="tracking", disable=args.quiet)
        begun, frames = time.perf_counter(), set()

        def progress(frame, done):
            frames.add(frame)
            bar.update(1)
            bar.set_postfix(frame=frame, fps=f"{len(frames) / max(1e-9, time.perf_counter() - begun):.2f}")

        failure = None
        try:
            for direction, start, end in passes:
                session.track(direction, start=start, end=end, progress=progress, resume=resume)
        except KeyboardInterrupt:
            bar.close()
            print(f"anymask: interrupted; every tracked frame so far is saved in {session.store.folder}")
            return 130
        except (AnymaskError, OSError, sqlite3.Error) as exc:  # a frame that cannot be decoded, a full disk
            failure = exc
        bar.close()
        if failure is not None:
            from . import describe_os_error

            problem = str(failure) if isinstance(failure, AnymaskError) else describe_os_error(failure)
            print(f"anymask: error: {problem}", file=sys.stderr)
            saved = f"tracking stopped; the {len(frames)} frame(s) tracked before it are saved in "
            saved += str(session.store.folder)
            try:
                path = export_as_asked(session, args, out)
            except (AnymaskError, OSError, sqlite3.Error):
                print(f"{saved}; the {args.format} export could not be written either")
                return 2
            print(f"{saved} and {args.format} was written to {path}")
            return 2
        path = export_as_asked(session, args, out)
        objects = len(session.store.objects())
        print(
            f"tracked {objects} object(s) over {len(frames)} frame(s); {args.format} written to {path}; "
            f"project in {session.store.folder}"
        )
        if _all_absent(session.store):
            print(
                "anymask: warning: every object was judged absent on every tracked frame, so the masks are "
                "empty: check the prompts and the model"
            )
        return 0
    finally:
        session.close()


def _frame_range(args, count: int) -> tuple[int, int]:
    first = 0 if args.start is None else args.start
    last = count - 1 if args.end is None else args.end
    if not 0 <= first <= last < count:
        raise AnymaskError(f"--start {first} / --end {last}: the video has frames 0..{count - 1} (start <= end)")
    return first, last


def _all_absent(store) -> bool:
    scores = [presence for _, _, presence, _ in store.presence()]
    return bool(scores) and all(score < 0 for score in scores)
