"""Exports read back by the tools a user's next step uses: Datumaro, TrackEval, labelme, Label Studio's
converter and X-AnyLabeling (in venvs of their own, scripts/readers_venv.sh), and the layout rules of
davis2017-evaluation and Ultralytics checked directly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from anymask.annotations import rle
from anymask.annotations.geometry import edge_polygon_mask, mask_iou
from anymask.formats import Dataset, FrameInfo, Instance, export_dataset, guess_format, import_annotations

ROOT = Path(__file__).resolve().parent.parent
READERS_PYTHON = ROOT / "build" / "readers-venv" / "bin" / "python"
X_ANYLABELING_PYTHON = ROOT / "build" / "x-anylabeling-venv" / "bin" / "python"
FRAMES, HEIGHT, WIDTH = 6, 120, 160
ABSENT = (2, 3)  # object 2 leaves on these frames


def ellipse(cy, cx, ry, rx):
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1


class Frames:
    fps, path = 29.97, "synthetic"

    def frame(self, index):
        return np.full((HEIGHT, WIDTH, 3), 30 * index, np.uint8)


def make_dataset(first_label="pedestrian") -> Dataset:
    frames = [FrameInfo(i, f"f{i:03d}.jpg", HEIGHT, WIDTH) for i in range(FRAMES)]
    instances = {}
    for i in range(FRAMES):
        walker = ellipse(50 + i, 40 + 3 * i, 20, 12) & ~ellipse(50 + i, 40 + 3 * i, 5, 3)  # with a hole
        items = [
            Instance(1, first_label, rle.encode(walker), 0.9),
            Instance(2, "car", rle.encode(ellipse(90, 120 - 4 * i, 12, 25)), 0.8),
        ]
        if i not in ABSENT:  # two components
            items.append(Instance(3, first_label, rle.encode(ellipse(20, 130, 8, 6) | ellipse(20, 150, 4, 4))))
        instances[i] = items
    return Dataset("seq", frames, [first_label, "car"], instances, Frames(), 29.97)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    dataset = make_dataset()
    for name in ("coco", "voc", "mot", "mots", "cvat", "davis", "yolo-seg", "youtube-vis"):
        export_dataset(dataset, name, root / name, mode="polygon", tolerance=0.0, val=0.34)
    export_dataset(dataset, "yolo-det", root / "yolo-det", val=0)
    for mode in ("polygon", "rectangle", "rotation"):
        export_dataset(dataset, "xanylabeling", root / f"xanylabeling-{mode}", mode=mode)
    export_dataset(dataset, "cvat", root / "cvat-rotation", mode="rotation")
    for mode in ("polygon", "mask"):
        export_dataset(dataset, "label-studio", root / f"label-studio-{mode}", mode=mode, tolerance=0.0)
    return root


def read_back(reader: str, folder: Path, *more: str, python: Path = READERS_PYTHON, script="read_back.py") -> dict:
    if not python.is_file():
        pytest.skip(f"{python.parent.parent.name} is missing: run scripts/readers_venv.sh (needs network once)")
    command = [str(python), str(Path(__file__).parent / "readers" / script), reader, str(folder), *more]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    line = next((x for x in done.stdout.splitlines() if x.startswith("READ_BACK ")), None)
    assert line is not None, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(line.removeprefix("READ_BACK "))


EXPECTED_TRACKS = {"1:pedestrian": FRAMES, "2:car": FRAMES, "3:pedestrian": FRAMES - len(ABSENT)}


@pytest.mark.parametrize(
    "format_name, folder, shape",
    [
        ("coco_instances", "coco", "polygon"),
        ("voc", "voc", "bbox"),
        ("mot_seq", "mot", "bbox"),
        ("cvat", "cvat", "polygon"),
        ("cvat", "cvat-rotation", "rotated_bbox"),
    ],
)
def test_datumaro_imports_with_classes_and_track_ids(exported, format_name, folder, shape):
    found = read_back(f"datumaro:{format_name}", exported / folder)
    assert found["items"] == FRAMES
    assert [label for label in found["labels"] if label in ("pedestrian", "car")] == ["pedestrian", "car"]
    counts = {key.split(":", 1)[1]: count for key, count in found["shapes"].items() if key.startswith(shape)}
    expected = dict(EXPECTED_TRACKS)
    if folder == "coco":  # one COCO polygon per component: object 3 has two
        expected["3:pedestrian"] *= 2
    assert counts == expected


@pytest.mark.parametrize("kind", ["mot", "mots"])
def test_trackeval_scores_an_export_against_itself_at_one(exported, kind):
    found = read_back(f"trackeval:{kind}", exported / kind)
    assert found["message"] == "Success"
    assert found["HOTA"] == pytest.approx(1.0) and found["MOTA"] == pytest.approx(1.0)
    assert found["IDF1"] == pytest.approx(1.0)


@pytest.mark.parametrize("mode", ["polygon", "rectangle"])
def test_labelme_opens_xanylabeling_files(exported, mode):
    found = read_back("labelme", exported / f"xanylabeling-{mode}")
    shapes = found["files"]["f000.json"]
    assert {group for _, _, group, _ in shapes} == {1, 2, 3}
    if mode == "rectangle":
        assert {(kind, points) for _, kind, _, points in shapes} == {("rectangle", 4)}


def x_anylabeling(job: str, folder: Path, *more: str) -> dict:
    return read_back(job, folder, *more, python=X_ANYLABELING_PYTHON, script="x_anylabeling.py")


@pytest.mark.parametrize("mode", ["polygon", "rectangle", "rotation"])
def test_x_anylabeling_opens_our_label_files(exported, mode):
    found = x_anylabeling("open", exported / f"xanylabeling-{mode}")["files"]
    assert sorted(found) == [f"f{i:03d}.json" for i in range(FRAMES)]
    dataset = make_dataset()
    for frame in range(FRAMES):
        shapes = found[f"f{frame:03d}.json"]
        wanted = {(i.label, i.object_id) for i in dataset.on(frame)}
        assert {(label, group) for label, _, group, _ in shapes} == wanted, frame
        assert {kind for _, kind, _, _ in shapes} == {mode}
        if mode != "polygon":
            assert all(len(points) == 4 for *_, points in shapes)


def test_x_anylabelings_mot_export_of_our_label_files_reads_back(exported, tmp_path):
    """X-AnyLabeling's MOT export (its numbering: frames from the label files' names, classes from 0 by the
    classes file, ours from the MOT export) of our rectangles imports onto the same frames, ids and classes."""
    classes = exported / "mot" / "seq" / "gt" / "classes.txt"
    x_anylabeling("to-mot", exported / "xanylabeling-rectangle", str(classes), str(tmp_path / "out"))
    dataset = make_dataset()
    numbered = import_annotations("mot", tmp_path / "out", dataset.frames)
    assert numbered.classes == ["class1", "class3"] and "no classes.txt beside it" in numbered.notes[0]
    shutil.copy(classes, tmp_path / "out")  # the classes file X-AnyLabeling was given, kept with its export
    back = import_annotations("mot", tmp_path / "out", dataset.frames)
    assert back.classes == ["pedestrian", "car"]
    for frame in range(FRAMES):
        got = {i.object_id: (i.label, i.box) for i in back.on(frame)}
        for instance in dataset.on(frame):
            label, box = got.pop(instance.object_id)
            assert label == instance.label
            assert np.allclose(box, instance.box, atol=1.0), (frame, instance.object_id, box, instance.box)
        assert not got


def test_x_anylabeling_uploads_our_mot_with_our_classes_file(exported, tmp_path):
    """X-AnyLabeling's MOT upload names class k by line k of the classes file: gt/classes.txt does so."""
    classes = exported / "mot" / "seq" / "gt" / "classes.txt"
    found = x_anylabeling("from-mot", exported / "mot" / "seq", str(classes), str(tmp_path / "out"))["files"]
    dataset = make_dataset()
    assert sorted(found) == [f"{i + 1:06d}.json" for i in range(FRAMES)]
    for frame in range(FRAMES):
        shapes = found[f"{frame + 1:06d}.json"]
        wanted = {(i.label, i.object_id, tuple(i.box)) for i in dataset.on(frame)}
        got = {(label, group, (*points[0], *points[2])) for label, kind, group, points in shapes}
        assert got == wanted, frame


def _component_boxes(dataset: Dataset, frame: int) -> list[tuple[str, tuple]]:
    """(class, box) of every connected part of every object on a frame, as a polygon export writes them."""
    import cv2

    found = []
    for instance in dataset.on(frame):
        count, parts = cv2.connectedComponents(instance.mask.astype(np.uint8), connectivity=8)
        found += [(instance.label, rle.to_box(rle.encode(parts == k))) for k in range(1, count)]
    return found


@pytest.mark.parametrize("mode", ["hbb", "seg"])
def test_x_anylabelings_yolo_export_of_our_label_files_imports(exported, tmp_path, mode):
    """Its YOLO export writes label files only; with the classes.txt it was given beside them they import."""
    source = exported / ("xanylabeling-rectangle" if mode == "hbb" else "xanylabeling-polygon")
    classes = exported / "yolo-det" / "classes.txt"
    x_anylabeling(f"to-yolo-{mode}", source, str(classes), str(tmp_path / "labels"))
    shutil.copy(classes, tmp_path / "labels")
    dataset = make_dataset()
    back = import_annotations(guess_format(tmp_path / "labels"), tmp_path / "labels", dataset.frames)
    assert back.classes == ["pedestrian", "car"]
    for frame in range(FRAMES):
        want = (
            sorted((i.label, i.box) for i in dataset.on(frame))
            if mode == "hbb"
            else sorted(_component_boxes(dataset, frame))
        )
        got = sorted((i.label, i.box) for i in back.on(frame))
        assert [label for label, _ in got] == [label for label, _ in want], frame
        for (_, box), (_, wanted) in zip(got, want):  # its rectangles' corners are pixel indices, ours edges
            assert np.allclose(box, wanted, atol=1.0), (frame, box, wanted)


def test_darknet_yolo_as_cvat_and_datumaro_write_it_imports(exported, tmp_path):
    """Datumaro's `yolo` (Darknet: obj.names, obj.data, train.txt, obj_train_data/), CVAT's YOLO 1.1."""
    found = read_back("datumaro-convert:coco_instances>yolo", exported / "coco", str(tmp_path / "darknet"))
    assert {"obj.names", "obj.data", "train.txt", "obj_train_data/f000.txt"} <= set(found["written"])
    dataset = make_dataset()
    assert guess_format(tmp_path / "darknet") == "yolo"
    for frames in (dataset.frames, None):  # onto the media, or the images beside the labels
        back = import_annotations("yolo", tmp_path / "darknet", frames)
        assert back.classes == ["pedestrian", "car"] and len(back.frames) == FRAMES
        for frame in range(FRAMES):
            got = sorted((i.label, i.box) for i in back.on(frame))
            assert got == sorted((i.label, i.box) for i in dataset.on(frame)), frame


def test_x_anylabeling_uploads_our_yolo_with_our_classes_file(exported, tmp_path):
    folder = exported / "yolo-det"
    found = x_anylabeling("from-yolo-hbb", folder, str(folder / "classes.txt"), str(tmp_path / "out"))["files"]
    dataset = make_dataset()
    assert sorted(found) == [f"f{i:03d}.json" for i in range(FRAMES)]
    for frame in range(FRAMES):
        got = sorted((label, tuple(points[0] + points[2])) for label, _, _, points in found[f"f{frame:03d}.json"])
        want = sorted((i.label, i.box) for i in dataset.on(frame))
        assert [label for label, _ in got] == [label for label, _ in want]
        assert np.allclose([box for _, box in got], [box for _, box in want], atol=1e-3), frame


def test_x_anylabelings_coco_export_of_our_label_files_imports(exported, tmp_path):
    """Its COCO export adds a _background_ category, which the import leaves out as unused."""
    x_anylabeling(
        "to-coco", exported / "xanylabeling-polygon", str(exported / "yolo-det" / "classes.txt"), str(tmp_path)
    )
    dataset = make_dataset()
    back = import_annotations("coco", tmp_path / "coco_instance_segmentation.json", dataset.frames)
    ours = import_annotations("xanylabeling", exported / "xanylabeling-polygon", dataset.frames)
    assert back.classes == ["pedestrian", "car"]
    for frame in range(FRAMES):
        got, want = back.on(frame), ours.on(frame)
        assert sorted(i.label for i in got) == sorted(i.label for i in want), frame
        for instance in want:  # the same polygons; COCO's read on pixel edges, labelme's on pixel indices
            best = max(mask_iou(instance.mask, other.mask) for other in got if other.label == instance.label)
            assert best >= 0.6, (frame, instance.object_id, best)


def test_davis2017_evaluation_layout_rules(exported):
    """What davis2017-evaluation reads: ImageSets/2017/<set>.txt names the sequence, JPEGImages/480p and
    Annotations/480p hold as many frames, and the object count is the first mask's largest index."""
    root = exported / "davis"
    (sequence,) = (root / "ImageSets" / "2017" / "val.txt").read_text().split()
    images = sorted((root / "JPEGImages" / "480p" / sequence).glob("*.jpg"))
    masks = sorted((root / "Annotations" / "480p" / sequence).glob("*.png"))
    assert [p.stem for p in images] == [p.stem for p in masks] == [f"{i:05d}" for i in range(FRAMES)]
    assert not list((root / "Annotations").rglob("*.json"))
    first = np.asarray(Image.open(masks[0]))
    count = int(first.max())
    for path in masks:
        values = set(np.unique(np.asarray(Image.open(path)))) - {0}
        assert values <= set(range(1, count + 1)) and 255 not in values


def test_ultralytics_layout_rules(exported):
    """Ultralytics' rules: without `path:` it reads the folders beside data.yaml; labels/ mirrors images/;
    every value normalised; validation frames are a block the training frames do not touch."""
    root = exported / "yolo-seg"
    config = yaml.safe_load((root / "data.yaml").read_text())
    assert "path" not in config and config["names"] == {0: "pedestrian", 1: "car"}
    splits = {}
    for split in ("train", "val"):
        images = sorted((root / config[split]).glob("*.jpg"))
        labels = [Path(str(p).replace("/images/", "/labels/")).with_suffix(".txt") for p in images]
        assert images and all(p.is_file() for p in labels)
        splits[split] = [int(p.stem[1:]) for p in images]
        for label in labels:
            for line in label.read_text().splitlines():
                values = np.array(line.split()[1:], dtype=float)
                assert values.size >= 6 and values.size % 2 == 0 and 0 <= values.min() and values.max() <= 1
    assert splits == {"train": [0, 1, 2, 3], "val": [4, 5]}


def test_label_studio_converter_reads_polygons_and_brush_masks(exported):
    """Label Studio's own converter: its COCO polygons fill our masks (holes and parts too), and its brush
    decoder gives every mask's pixels back."""
    dataset = make_dataset()
    found = read_back("label-studio", exported / "label-studio-polygon")["images"]
    assert len(found) == FRAMES
    for frame in dataset.frames:
        shapes = found[f"/data/local-files/?d=images/{frame.file_name}"]
        for label in ("pedestrian", "car"):
            ours = np.zeros((HEIGHT, WIDTH), bool)
            for instance in dataset.on(frame.index):
                ours |= instance.mask if instance.label == label else False
            theirs = np.zeros((HEIGHT, WIDTH), bool)
            for name, _, segmentation in shapes:
                for ring in segmentation if name == label else []:
                    theirs |= edge_polygon_mask(np.reshape(ring, (-1, 2)), HEIGHT, WIDTH)
            assert mask_iou(theirs, ours) == 1.0, (frame.index, label)
    brushes = read_back("label-studio", exported / "label-studio-mask")["brushes"]
    for frame in dataset.frames:
        decoded = {
            region: (count, box) for region, count, box in brushes[f"/data/local-files/?d=images/{frame.file_name}"]
        }
        for instance in dataset.on(frame.index):
            x1, y1, x2, y2 = instance.box
            assert decoded[f"obj{instance.object_id}-0"] == (instance.mask.sum(), [x1, y1, x2, y2])


def test_re_import_keeps_ids_classes_and_masks(exported):
    """Every importer gives back the exported object ids, class order and masks."""
    dataset = make_dataset()
    for name, folder, exact in (
        ("coco", "coco", True),
        ("davis", "davis", True),
        ("cvat", "cvat", True),
        ("xanylabeling", "xanylabeling-polygon", False),
        ("mot", "mot", False),
        ("mots", "mots", True),
        ("voc", "voc", False),
        ("youtube-vis", "youtube-vis", True),
        ("label-studio", "label-studio-polygon", True),
        ("label-studio", "label-studio-mask", True),
    ):
        back = import_annotations(name, exported / folder, dataset.frames)
        assert back.classes == ["pedestrian", "car"], name
        for frame in range(FRAMES):
            originals = {i.object_id: i.mask for i in dataset.on(frame)}
            got = {i.object_id: i.mask for i in back.on(frame)}
            assert got.keys() == originals.keys(), (name, frame)
            for object_id, mask in got.items():
                if name in ("mot", "voc"):
                    continue  # boxes only
                iou = mask_iou(mask, originals[object_id])
                assert iou == 1.0 if exact else iou >= 0.95, (name, frame, object_id, iou)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
