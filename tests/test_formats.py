"""Every export format checked with its own reader where one exists; imports round-trip; bad input fails cleanly."""

from __future__ import annotations

import configparser
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import yaml
from PIL import Image

from anymask.annotations import read_label_file, rle
from anymask.annotations.geometry import mask_iou
from anymask.formats import Dataset, FrameInfo, Instance, export_dataset, import_annotations, store_dataset
from anymask.media import open_source
from anymask.project import ProjectStore

FRAMES = 6
ABSENT = {3: (2, 3)}  # object 3 leaves on frames 2 and 3, then comes back


def ellipse(height, width, cy, cx, ry, rx):
    yy, xx = np.mgrid[0:height, 0:width]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1


@pytest.fixture(scope="module")
def dataset(media_dir):
    source = open_source(media_dir / "vtest.avi")
    height, width = source.frame_size()
    frames = [FrameInfo(i, source.frame_name(i), height, width) for i in range(FRAMES)]
    instances = {}
    for i in range(FRAMES):
        person = ellipse(height, width, 200 + 5 * i, 150 + 10 * i, 60, 30)
        person &= ~ellipse(height, width, 200 + 5 * i, 150 + 10 * i, 15, 8)  # a hole
        car = ellipse(height, width, 400, 500 - 8 * i, 40, 90)
        items = [Instance(1, "person", rle.encode(person), 0.9), Instance(2, "car", rle.encode(car), 0.8)]
        if i not in ABSENT[3]:
            items.append(
                Instance(
                    3,
                    "person",
                    rle.encode(ellipse(height, width, 100, 650, 30, 20) | ellipse(height, width, 100, 700, 10, 10)),
                    None,
                )
            )
        instances[i] = items
    data = Dataset("vtest", frames, ["person", "car"], instances, source, source.fps)
    return data


def masks_of(data, frame):
    return {i.object_id: i.mask for i in data.on(frame)}


def test_coco_rle_and_polygons_load_in_pycocotools(dataset, tmp_path):
    from pycocotools.coco import COCO

    for segmentation, threshold in (("mask", 1.0), ("polygon", 0.95)):
        path = export_dataset(dataset, "coco", tmp_path / segmentation, mode=segmentation)
        coco = COCO(str(path))
        assert len(coco.getImgIds()) == FRAMES and [c["name"] for c in coco.loadCats(coco.getCatIds())] == [
            "person",
            "car",
        ]
        tracks = {}
        for annotation in coco.loadAnns(coco.getAnnIds()):
            frame = annotation["image_id"] - 1
            assert annotation["attributes"]["track_id"] == annotation["track_id"]
            expected = masks_of(dataset, frame)[annotation["track_id"]]  # track id = object id
            assert mask_iou(coco.annToMask(annotation).astype(bool), expected) >= threshold
            tracks.setdefault(annotation["track_id"], set()).add(coco.loadCats(annotation["category_id"])[0]["name"])
        assert tracks == {1: {"person"}, 2: {"car"}, 3: {"person"}}
        assert path == tmp_path / segmentation / "annotations" / "instances_default.json"
        assert (tmp_path / segmentation / "images" / "default" / "vtest_000005.jpg").is_file()
        assert coco.loadImgs(1)[0]["video_id"] == 1
        assert len(coco.getAnnIds(imgIds=[3])) == 2  # frame 2: object 2 absent


@pytest.mark.parametrize("task", ["yolo-det", "yolo-seg", "yolo-obb"])
def test_yolo_layout_and_round_trip(dataset, tmp_path, task):
    data_yaml = export_dataset(dataset, task, tmp_path)
    config = yaml.safe_load(data_yaml.read_text())
    assert config["names"] == {0: "person", 1: "car"} and (tmp_path / config["train"]).is_dir()
    labels = sorted((tmp_path / "labels").rglob("*.txt"))
    images = sorted((tmp_path / "images").rglob("*.jpg"))
    assert len(labels) == len(images) == FRAMES and config["val"] == "images/val"
    assert len(list((tmp_path / "images" / "val").glob("*.jpg"))) == 1  # the last 20%: frame 5
    first = labels[0].read_text().splitlines()
    assert len(first) == 3 and all(
        len(line.split()) == {"yolo-det": 5, "yolo-obb": 9}.get(task, len(line.split())) for line in first
    )
    back = import_annotations("yolo", tmp_path, dataset.frames)
    for frame in range(FRAMES):
        originals = [_as_task(mask, task) for mask in masks_of(dataset, frame).values()]
        assert len(back.on(frame)) == len(originals)
        for instance in back.on(frame):
            assert max(mask_iou(instance.mask, original) for original in originals) >= 0.95


def _as_task(mask, task):
    """What a YOLO label can hold of a mask: its box, its rotated box, or its outline."""
    from anymask.annotations.geometry import box_to_mask, mask_to_box, mask_to_rotated_box, rotated_box_to_mask

    if task == "yolo-det":
        return box_to_mask(mask_to_box(mask), *mask.shape)
    if task == "yolo-obb":
        return rotated_box_to_mask(mask_to_rotated_box(mask)[0], *mask.shape)
    return mask


def test_voc_boxes_are_one_based_inclusive(dataset, tmp_path):
    export_dataset(dataset, "voc", tmp_path)
    root = ET.parse(tmp_path / "Annotations" / "vtest_000000.xml").getroot()
    assert root.findtext("size/width") == "768" and root.findtext("filename") == "vtest_000000.jpg"
    person = next(o for o in root.iter("object") if o.findtext("attributes/attribute[name='track_id']/value") == "1")
    ys, xs = np.nonzero(masks_of(dataset, 0)[1])
    assert [int(person.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")] == [
        xs.min() + 1,
        ys.min() + 1,
        xs.max() + 1,
        ys.max() + 1,
    ]
    assert (tmp_path / "JPEGImages" / "vtest_000005.jpg").is_file()
    assert len((tmp_path / "ImageSets" / "Main" / "default.txt").read_text().split()) == FRAMES
    assert (tmp_path / "labelmap.txt").read_text().splitlines()[1:] == [
        "background:0,0,0::",
        "person:255,56,56::",
        "car:72,249,10::",
    ]


def test_mot_gt_txt(dataset, tmp_path):
    path = export_dataset(dataset, "mot", tmp_path)
    rows = np.loadtxt(path, delimiter=",")
    assert rows.shape[1] == 9 and rows[:, 0].min() == 1 and rows[:, 0].max() == FRAMES
    assert set(rows[:, 1].astype(int)) == {1, 2, 3}
    assert set(rows[rows[:, 1] == 3][:, 0].astype(int)) == {1, 2, 5, 6}  # absent on frames 3 and 4 (1-based)
    assert set(rows[rows[:, 1] == 2][:, 7].astype(int)) == {3}  # car keeps MOT17's number
    info = configparser.ConfigParser()
    info.read(path.parent.parent / "seqinfo.ini")
    assert info["Sequence"]["seqLength"] == str(FRAMES) and info["Sequence"]["imWidth"] == "768"


def test_mots_txt_decodes_without_overlaps(dataset, tmp_path):
    from pycocotools import mask as coco_mask

    path = export_dataset(dataset, "mots", tmp_path)
    per_frame = {}
    for line in path.read_text().splitlines():
        frame, object_id, class_id, height, width, counts = line.split(" ")
        assert int(object_id) // 1000 == int(class_id)
        mask = coco_mask.decode({"size": [int(height), int(width)], "counts": counts.encode()}).astype(bool)
        per_frame.setdefault(int(frame), []).append(mask)
    assert sorted(per_frame) == list(range(1, FRAMES + 1))
    for masks in per_frame.values():
        assert np.sum(masks, axis=0).max() <= 1


def test_davis_palette_pngs_round_trip(dataset, tmp_path):
    masks_dir = export_dataset(dataset, "davis", tmp_path)
    with Image.open(masks_dir / "00000.png") as picture:
        assert picture.mode == "P" and picture.getpalette()[3:6] == [128, 0, 0]
        assert set(np.unique(np.asarray(picture))) == {0, 1, 2, 3}
    assert masks_dir == tmp_path / "Annotations" / "480p" / "vtest" and not list(masks_dir.glob("*.json"))
    assert len(list((tmp_path / "JPEGImages" / "480p" / "vtest").glob("*.jpg"))) == FRAMES
    assert (tmp_path / "ImageSets" / "2017" / "val.txt").read_text() == "vtest\n"
    assert import_annotations("davis", tmp_path, dataset.frames).instances.keys() == dataset.instances.keys()
    back = import_annotations("davis", masks_dir, dataset.frames)
    for frame in range(FRAMES):
        assert {i.object_id: i.label for i in back.on(frame)} == {i.object_id: i.label for i in dataset.on(frame)}
        for instance in back.on(frame):
            assert np.array_equal(instance.mask, masks_of(dataset, frame)[instance.object_id])


def test_youtube_vis_json(dataset, tmp_path):
    from pycocotools import mask as coco_mask

    document = json.loads(export_dataset(dataset, "youtube-vis", tmp_path).read_text())
    video = document["videos"][0]
    assert video["length"] == FRAMES == len(video["file_names"])
    absent = next(a for a in document["annotations"] if a["track_id"] == 3)
    assert absent["segmentations"][2] is None and absent["bboxes"][3] is None and absent["areas"][4] > 0
    person = next(a for a in document["annotations"] if a["track_id"] == 1)
    segmentation = person["segmentations"][1]
    decoded = coco_mask.decode({"size": segmentation["size"], "counts": segmentation["counts"].encode()}).astype(bool)
    assert np.array_equal(decoded, masks_of(dataset, 1)[1])


@pytest.mark.parametrize("mode", ["polygon", "rectangle"])
def test_cvat_video_xml(dataset, tmp_path, mode):
    root = ET.parse(export_dataset(dataset, "cvat", tmp_path, mode=mode)).getroot()
    assert root.findtext("version") == "1.1" and root.findtext("meta/task/size") == str(FRAMES)
    assert [label.findtext("name") for label in root.iter("label")] == ["person", "car"]
    tracks = root.findall("track")
    assert len(tracks) == 3
    leaving = tracks[2]
    tag = "box" if mode == "rectangle" else "polygon"
    states = [(int(s.get("frame")), s.get("outside")) for s in leaving.findall(tag)]
    assert states == [(0, "0"), (1, "0"), (2, "1"), (4, "0"), (5, "0")]
    if mode == "polygon":
        points = [tuple(map(float, p.split(","))) for p in tracks[0].find("polygon").get("points").split(";")]
        assert len(points) >= 3


def test_xanylabeling_folder_round_trip(dataset, tmp_path):
    export_dataset(dataset, "xanylabeling", tmp_path, mode="polygon", tolerance=0.5)
    label_file = read_label_file(tmp_path / "vtest_000000.json")
    assert label_file.image_path == "vtest_000000.jpg" and (tmp_path / "vtest_000000.jpg").is_file()
    assert sorted({s.group_id for s in label_file.shapes}) == [1, 2, 3]  # track ids, from 1
    back = import_annotations("xanylabeling", tmp_path, dataset.frames)
    for frame in range(FRAMES):
        for instance in back.on(frame):
            assert mask_iou(instance.mask, masks_of(dataset, frame)[instance.object_id]) >= 0.95


def test_import_into_store_keeps_existing_work(dataset, tmp_path):
    export_dataset(dataset, "davis", tmp_path / "davis")
    imported = import_annotations("davis", tmp_path / "davis" / "Annotations" / "480p" / "vtest", dataset.frames)
    with ProjectStore.open(tmp_path / "project") as store:
        mine = store.add_object("dog")
        store.put_mask(0, mine, np.ones((576, 768), bool))
        id_map = store_dataset(store, imported)
        assert id_map[1] != mine and store.objects()[mine] == "dog"
        assert len(store.masks(0)) == 4 and len(store.masks(2)) == 2 and len(store.masks(1)) == 3


def test_failed_import_stores_nothing(dataset, tmp_path):
    broken = Dataset(
        "x",
        dataset.frames,
        ["person"],
        {
            0: [Instance(0, "person", {"size": [2, 2], "counts": [4]})],
            1: [Instance(0, "person", rle.encode(np.ones((2, 2), bool)), 2.0)],
        },
    )
    with ProjectStore.open(tmp_path / "project") as store:
        original = store.put_masks
        calls = []

        def failing(frame, items):
            calls.append(frame)
            if len(calls) == 2:
                raise RuntimeError("disk full")
            original(frame, items)

        store.put_masks = failing
        with pytest.raises(RuntimeError):
            store_dataset(store, broken)
        assert store.count_masks() == 0 and store.objects() == {}


# conventions the ecosystem's readers hold us to (issue: exports and imports checked by their readers) ---------
def test_pixel_edge_polygons_fill_as_pycocotools_does():
    from pycocotools import mask as coco_mask

    from anymask.annotations.geometry import edge_polygon_mask, mask_to_polygons, polygons_to_mask

    square = [100, 100, 200, 100, 200, 220, 100, 220]
    assert edge_polygon_mask(np.array(square).reshape(-1, 2), 300, 300).sum() == 12000  # not 12 221
    rng = np.random.default_rng(0)
    for _ in range(200):
        height, width = (int(v) for v in rng.integers(5, 60, 2))
        points = rng.uniform(-0.5, [width + 0.5, height + 0.5], (int(rng.integers(3, 10)), 2))
        ours = edge_polygon_mask(points, height, width)
        theirs = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects([points.ravel().tolist()], height, width)))
        assert np.array_equal(ours, theirs.astype(bool))
    blob = np.zeros((40, 50), bool)
    blob[5:30, 5:20] = blob[10:15, 25:45] = True
    blob[10:20, 8:12] = False  # a hole
    polygons = mask_to_polygons(blob, 0.0, pixel_edges=True)
    assert all(np.all(p.exterior == np.round(p.exterior)) for p in polygons)  # on the pixel edges exactly
    assert np.array_equal(polygons_to_mask(polygons, 40, 50, pixel_edges=True), blob)
    rectangle = mask_to_polygons(blob[:, :22], 0.0, pixel_edges=True)[0]
    assert len(rectangle.exterior) == 4 and len(rectangle.holes) == 1  # collinear runs are one edge


def test_xanylabeling_rectangles_and_labelme_circles(tmp_path):
    box = np.zeros((40, 60), bool)
    box[5:20, 10:30] = True
    data = Dataset(
        "v", [FrameInfo(0, "a.jpg", 40, 60)], ["thing"], {0: [Instance(1, "thing", rle.encode(box))]}, Frames(40, 60)
    )
    export_dataset(data, "xanylabeling", tmp_path / "x", mode="rectangle")
    document = json.loads((tmp_path / "x" / "a.json").read_text())
    (shape,) = document["shapes"]
    assert shape["points"] == [[10, 5], [29, 5], [29, 19], [10, 19]] and shape["group_id"] == 1  # last pixel
    (back,) = import_annotations("xanylabeling", tmp_path / "x", data.frames).on(0)
    assert back.object_id == 1 and np.array_equal(back.mask, box)
    document["shapes"] = [
        {"label": "ball", "points": [[30, 20], [30, 28]], "shape_type": "circle", "group_id": None, "flags": {}},
        {"label": "tip", "points": [[3, 3]], "shape_type": "point", "group_id": None, "flags": {}},
    ]
    (tmp_path / "x" / "a.json").write_text(json.dumps(document))
    imported = import_annotations("labelme", tmp_path / "x", data.frames)
    (ball,) = imported.on(0)
    assert ball.label == "ball" and 180 < ball.mask.sum() < 230  # a disc of radius 8: 201 px
    assert imported.notes == ["skipped 1 point shape(s): not an area"]


class Frames:
    def __init__(self, height=20, width=20):
        self.size = (height, width)

    def frame(self, index):
        return np.zeros((*self.size, 3), np.uint8)


def test_davis_keeps_track_ids_as_indices_and_refuses_a_255th_object(tmp_path):
    frames = [FrameInfo(0, "a.jpg", 20, 20)]
    many = {
        0: [Instance(k, "x", rle.encode(np.eye(20, dtype=bool) & (np.arange(20) == k % 20)[None])) for k in range(255)]
    }
    with pytest.raises(ValueError, match="at most 254 objects"):
        export_dataset(Dataset("v", frames, ["x"], many), "davis", tmp_path / "many")
    two = {
        0: [Instance(4, "x", rle.encode(np.eye(20, dtype=bool))), Instance(7, "y", rle.encode(~np.eye(20, dtype=bool)))]
    }
    masks_dir = export_dataset(Dataset("v", frames, ["x", "y"], two, Frames()), "davis", tmp_path / "two")
    with Image.open(masks_dir / "00000.png") as picture:
        assert set(np.unique(np.asarray(picture))) == {4, 7}  # the object ids, as every format writes them


def test_per_image_formats_write_annotated_frames_unless_asked(dataset, tmp_path):
    sparse = Dataset("vtest", dataset.frames, dataset.classes, {1: dataset.on(1)}, dataset.source)
    for name in ("yolo-seg", "voc", "xanylabeling"):
        export_dataset(sparse, name, tmp_path / name)
        export_dataset(sparse, name, tmp_path / f"{name}-all", empty_frames=True)
    assert [p.name for p in (tmp_path / "yolo-seg" / "labels").rglob("*.txt")] == ["vtest_000001.txt"]
    assert len(list((tmp_path / "yolo-seg-all" / "labels").rglob("*.txt"))) == FRAMES  # negatives too
    assert [p.name for p in (tmp_path / "voc" / "Annotations").iterdir()] == ["vtest_000001.xml"]
    assert len(list((tmp_path / "xanylabeling-all").glob("*.json"))) == FRAMES
    assert [p.name for p in (tmp_path / "xanylabeling").glob("*.json")] == ["vtest_000001.json"]
