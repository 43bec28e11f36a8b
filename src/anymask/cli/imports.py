"""`anymask import`: another tool's annotations (any format in formats.IMPORT_FORMATS) into a project."""

from __future__ import annotations

from pathlib import Path

from ..errors import AnymaskError
from .common import add_command

IMPORT_CHOICES = (
    "xanylabeling",
    "labelme",
    "coco",
    "yolo",
    "davis",
    "mot",
    "mots",
    "voc",
    "youtube-vis",
    "cvat",
    "label-studio",
)


def register(commands, parents) -> None:
    parser = add_command(
        commands,
        "import",
        "add annotations from another tool to a project (new objects; nothing there is replaced)",
        parents,
        run,
    )
    parser.add_argument(
        "path",
        type=Path,
        help="the annotations: a label folder, a COCO JSON or folder, a YOLO or DAVIS root, a MOT or MOTS sequence, "
        "a VOC root, a YouTube-VIS JSON, CVAT XML, a Label Studio JSON export",
    )
    parser.add_argument(
        "--format", choices=IMPORT_CHOICES, help="the annotations' format (default: the one the path looks like)"
    )
    parser.add_argument("--media", type=Path, help="the video or image folder annotated (default: the project's)")
    parser.add_argument(
        "--project",
        type=Path,
        help="the project folder (default: the one the app opens for --media, e.g. clip.mp4.anymask beside it)",
    )


def run(args) -> int:
    from ..formats import guess_format, import_into
    from ..media import open_source
    from ..project import ProjectStore, default_project_folder
    from ..session.project import check_project_media

    if args.media is None and args.project is None:
        raise AnymaskError("name the annotated video or folder with --media, or an existing project with --project")
    if not args.path.exists():
        raise AnymaskError(f"{args.path}: no such file or folder")
    format_name = args.format or guess_format(args.path)
    if format_name is None:
        raise AnymaskError(f"{args.path}: cannot tell its format; name it with --format ({', '.join(IMPORT_CHOICES)})")
    project = args.project or default_project_folder(args.media)
    if args.media is None and not (project / "project.sqlite").is_file():
        raise AnymaskError(f"{project}: not an anymask project folder (no project.sqlite)")
    with ProjectStore.open(project, args.media) as store:
        media = args.media or store.get_meta("media_path")
        if not media:
            raise AnymaskError(f"{project}: the project does not record its video; pass --media")
        source = open_source(media)
        if args.media:
            check_project_media(store, args.media, source)
        report = import_into(store, source, format_name, args.path)
    notes = "".join(f"; {note}" for note in report.notes)
    read_as = "" if args.format else f" (read as {format_name})"
    print(
        f"imported {report.masks} masks of {report.objects} objects on {report.frames} frames into {project}"
        f"{read_as}{notes}"
    )
    return 0
