"""`anymask export`: a project folder -> a dataset in any format."""

from __future__ import annotations

from pathlib import Path

from ..errors import AnymaskError
from .common import EXPORT_FORMATS, ExportBar, add_command, output_folder, output_options


def register(commands, parents) -> None:
    parser = add_command(commands, "export", "export a project as a dataset", parents, run)
    parser.add_argument(
        "project",
        type=Path,
        help="the project folder (OUT/project after anymask track; clip.mp4.anymask beside a video opened in the app)",
    )
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    parser.add_argument("--out", required=True, type=Path)
    output_options(parser)
    parser.add_argument("--media", help="the video or folder, if it moved since the project was made")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from ..formats import dataset_from_store, export_dataset
    from ..media import open_source
    from ..project import ProjectStore

    output_folder(Path(args.out))
    project = Path(args.project)
    if not (project / "project.sqlite").is_file():
        raise AnymaskError(f"{project}: not an anymask project folder (no project.sqlite)")
    with ProjectStore.open(project) as store:
        media = args.media or store.get_meta("media_path")
        if not media:
            raise AnymaskError(f"{project}: the project does not record its video; pass --media")
        source = open_source(media)
        path = export_dataset(
            dataset_from_store(store, source),
            args.format,
            args.out,
            mode=args.mode,
            tolerance=args.tolerance,
            progress=ExportBar(args.format, args.quiet),
            val=args.val,
            empty_frames=args.empty_frames,
        )
    print(f"{args.format} written to {path}")
    return 0
