"""`anymask segment`: prompts on images (one image or a folder) -> masks -> a dataset, in one batch."""

from __future__ import annotations

from pathlib import Path

from ..errors import AnymaskError
from ..session.prompt_file import apply_prompt, read_prompts
from .common import EXPORT_FORMATS, add_command, export_as_asked, model_options, open_session, output_options


def register(commands, parents) -> None:
    parser = add_command(
        commands, "segment", "segment objects on images from prompts.json and export them", parents, run
    )
    parser.add_argument("images", help="an image file or a folder of images")
    parser.add_argument(
        "--prompts",
        required=True,
        type=Path,
        help='{"objects": [{"image": "a.jpg", "label", "points": [[x, y, 1|0]], "box"}]}',
    )
    parser.add_argument(
        "--out", required=True, type=Path, help="output folder (the dataset, and the project unless --project)"
    )
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    model_options(parser)
    output_options(parser)
    parser.add_argument("--project", type=Path, help="project folder (default: OUT/project)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from tqdm import tqdm

    entries = read_prompts(args.prompts, images=True)
    out = Path(args.out)
    session = open_session(args.images, args)
    try:
        names = {session.source.frame_name(i): i for i in range(len(session.source))}
        for entry in entries:
            entry["frame"] = _frame_of(entry, names, len(session.source))
        for entry in tqdm(
            sorted(entries, key=lambda e: e["frame"]), unit="object", desc="segmenting", disable=args.quiet
        ):
            apply_prompt(session, entry)
        path = export_as_asked(session, args, out)
        print(
            f"segmented {len(entries)} object(s) on {len({e['frame'] for e in entries})} image(s); "
            f"{args.format} written to {path}"
        )
        return 0
    finally:
        session.close()


def _frame_of(entry: dict, names: dict[str, int], count: int) -> int:
    if entry["image"] is not None:
        name = Path(entry["image"]).name
        if name not in names:
            raise AnymaskError(f"{entry['where']}.image: {entry['image']!r} is not among the {count} image(s)")
        return names[name]
    if count > 1 and not entry["frame_given"]:
        raise AnymaskError(f'{entry["where"]}: name its "image" (the folder has {count} images)')
    return entry["frame"]
