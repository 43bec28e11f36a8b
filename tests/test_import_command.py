"""`anymask import`: another tool's annotations into a project, for every import format, via the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from anymask.annotations import rle
from anymask.annotations.geometry import box_to_mask, mask_iou
from anymask.cli import main
from anymask.project import ProjectStore

from conftest import write_clip

FRAMES = 5


def disc(height, width, cy, cx, r):
    yy, xx = np.mgrid[0:height, 0:width]
    return (yy - cy) ** 2 + (xx - cx) ** 2 < r * r


@pytest.fixture(scope="module")
def annotated(media_dir, tmp_path_factory):
    """A 5-image folder and a project with two objects (person on all frames, bag on 1-3)."""
    root = tmp_path_factory.mktemp("import")
    clip = write_clip(media_dir, root / "clip", FRAMES, 4)
    with ProjectStore.open(root / "clip.anymask", clip) as store:
        person, bag = store.add_object("person"), store.add_object("bag")
        for frame in range(FRAMES):
            items = [(person, disc(576, 768, 200, 150 + 20 * frame, 60), 0.9, "tracked", None)]
            if 1 <= frame <= 3:
                items.append((bag, disc(576, 768, 400, 500, 30), 0.8, "tracked", None))
            store.put_masks(frame, items)
    return root, clip


EXPORTS = {  # import format: (export format, the path handed to import, exact masks)
    "coco": ("coco", "", True),
    "davis": ("davis", "", True),
    "cvat": ("cvat", "annotations.xml", True),
    "xanylabeling": ("xanylabeling", "", False),  # pixel-index outlines, not pixel edges
    "yolo": ("yolo-seg", "", True),
    "mot": ("mot", "", False),
    "mots": ("mots", "", True),
    "voc": ("voc", "", False),
    "youtube-vis": ("youtube-vis", "", True),
    "label-studio": ("label-studio", "tasks.json", True),
}


@pytest.mark.parametrize("format_name", list(EXPORTS))
def test_import_an_export_into_a_fresh_project(annotated, tmp_path, capsys, format_name):
    root, clip = annotated
    export_format, inside, exact = EXPORTS[format_name]
    out = tmp_path / export_format
    mode = ["--mode", "mask"] if format_name == "coco" else ["--tolerance", "0"]  # RLE, or polygons on pixel edges
    assert (
        main(["export", str(root / "clip.anymask"), "--format", export_format, "--out", str(out), "--quiet", *mode])
        == 0
    )
    project = tmp_path / "fresh"
    code = main(["import", str(out / inside), "--media", str(clip), "--project", str(project)])  # format guessed
    assert code == 0, capsys.readouterr().err
    said = capsys.readouterr().out.strip().splitlines()[-1]
    expected_objects = 8 if format_name == "yolo" else 2  # YOLO has no track ids: one object per label line
    assert said.startswith(f"imported 8 masks of {expected_objects} objects on 5 frames into {project}"), said
    assert f"(read as {format_name})" in said
    with ProjectStore.open(root / "clip.anymask") as original:
        wanted = {frame: {m.object_id: m.rle for m in original.masks(frame)} for frame in range(FRAMES)}
        labels = [label.name for label in original.labels()]
    with ProjectStore.open(project) as store:
        assert [label.name for label in store.labels()][:2] == labels[:2] == ["person", "bag"]
        for frame in range(FRAMES):
            got = store.masks(frame)
            assert len(got) == len(wanted[frame])
            if format_name == "yolo":
                continue  # no track ids
            for mask in got:
                if format_name in ("mot", "voc"):  # boxes: the box around each original mask
                    box = rle.to_box(wanted[frame][mask.object_id])
                    assert np.array_equal(rle.decode(mask.rle), box_to_mask(box, 576, 768)), (frame, mask.object_id)
                    continue
                iou = mask_iou(rle.decode(mask.rle), rle.decode(wanted[frame][mask.object_id]))
                assert iou == 1.0 if exact else iou > 0.97, (frame, mask.object_id, iou)


def test_import_keeps_existing_work_and_bad_files_are_one_line(annotated, tmp_path, capsys):
    from anymask.cli.imports import IMPORT_CHOICES

    choices = f"({', '.join(IMPORT_CHOICES)})"
    root, clip = annotated
    out = tmp_path / "coco"
    main(["export", str(root / "clip.anymask"), "--format", "coco", "--out", str(out), "--quiet"])
    project = tmp_path / "mine"
    with ProjectStore.open(project, clip) as store:
        mine = store.add_object("dog")
        store.put_mask(0, mine, disc(576, 768, 50, 50, 10))
    assert main(["import", str(out), "--format", "coco", "--project", str(project)]) == 0
    with ProjectStore.open(project) as store:
        assert store.objects()[mine] == "dog" and len(store.masks(0)) == 2
        before = store.count_masks()
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [], "annotations": [')
    assert main(["import", str(broken), "--format", "coco", "--project", str(project)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(broken) in err and "invalid JSON" in err
    with ProjectStore.open(project) as store:
        assert store.count_masks() == before
    assert main(["import", str(out), "--format", "coco"]) == 2
    assert "--media" in capsys.readouterr().err
    assert main(["import", str(clip), "--project", str(project)]) == 2  # a folder of images: no annotations
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.endswith("cannot tell its format; name it with --format " + choices)


def test_every_import_format_is_offered_by_the_cli_and_the_app():
    pytest.importorskip("PySide6")
    from anymask.app.dialogs import IMPORT_HINTS
    from anymask.cli.imports import IMPORT_CHOICES
    from anymask.formats import IMPORT_FORMATS

    assert list(IMPORT_CHOICES) == list(IMPORT_FORMATS) == list(IMPORT_HINTS)
