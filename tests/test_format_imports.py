"""Imports that must fail: every importer's bad files end in one AnnotationFormatError naming the file and
the place (fuzzed too); MOTS, VOC and YouTube-VIS files as other tools write them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from anymask.errors import AnnotationFormatError
from anymask.formats import FrameInfo, guess_format, import_annotations

from import_support import FRAMES, refused, write


@pytest.mark.parametrize("format_name", ["mot", "voc"])
def test_one_object_twice_on_a_frame_is_the_union_not_the_last(tmp_path, format_name):
    if format_name == "mot":
        where = write(tmp_path / "seq" / "gt" / "gt.txt", "3,4,0,0,10,10,1,1,1\n3,4,20,0,5,5,1,1,1\n").parent.parent
    else:
        twice = _voc_object("a", (1, 1, 10, 10), 4) + _voc_object("a", (21, 1, 25, 5), 4)
        where = write(tmp_path / "Annotations" / "a.xml", _voc(twice)).parent.parent
    imported = import_annotations(format_name, where, FRAMES)
    (only,) = imported.on(2)
    assert only.object_id == 4 and only.mask.sum() == 100 + 25
    assert imported.notes == ["merged 1 mask(s) into the same object's other mask on that frame"]


def _vis(annotations, videos=None, categories=({"id": 1, "name": "a"},)):
    video = {"id": 1, "height": 576, "width": 768, "length": 6, "file_names": [f.file_name for f in FRAMES]}
    document = {"videos": videos or [video], "annotations": annotations, "categories": list(categories)}
    return json.dumps(document)


SQUARE = {"size": [576, 768], "counts": [0, 5, 576 * 768 - 5]}  # uncompressed counts, as YouTube-VIS has them


@pytest.mark.parametrize(
    "document, message",
    [
        ('{"videos": [', "invalid JSON at line 1"),
        ("[]", "expected an object with the lists videos, annotations, categories"),
        (_vis([], videos=[{}, {}]), "holds 2 videos"),
        (_vis([{"id": 1, "category_id": 1}]), "annotations\\[0\\]: expected an id from 0"),
        (_vis([{"id": 1, "category_id": 9, "segmentations": []}]), "category_id 9 is not in categories"),
        (_vis([{"id": 1, "category_id": 1, "segmentations": [None] * 7}]), "7 segmentations, but the video has 6"),
        (
            _vis([{"id": 1, "category_id": 1, "segmentations": [None, {"size": [5, 5], "counts": [25]}]}]),
            r"size \[5, 5\], the frame",
        ),
        (_vis([{"id": 1, "category_id": 1, "segmentations": [{"size": [9**9, 9**9], "counts": [9**17]}]}]), "size"),
        (_vis([{"id": 1, "category_id": 1, "segmentations": [{"size": [576, 768], "counts": "~~"}]}]), "invalid char"),
        (_vis([{"id": 1, "category_id": 1, "segmentations": [[1, 2]]}]), "expected an RLE"),
        (_vis([], categories=[{"id": "x"}]), "categories\\[0\\]"),
    ],
)
def test_bad_youtube_vis_files(tmp_path, document, message):
    refused("youtube-vis", write(tmp_path / "instances.json", document), FRAMES, message)


def test_youtube_vis_with_uncompressed_counts_and_gaps(tmp_path):
    document = _vis([{"id": 3, "category_id": 1, "segmentations": [None, SQUARE, None, SQUARE]}])
    imported = import_annotations("youtube-vis", write(tmp_path / "instances.json", document), None)
    assert [f.file_name for f in imported.frames] == [f.file_name for f in FRAMES]
    assert sorted(imported.instances) == [1, 3] and imported.classes == ["a"]
    (one,) = imported.on(3)
    assert one.object_id == 3 and one.mask.sum() == 5 and one.mask[:5, 0].all()


@pytest.mark.parametrize(
    "document, message",
    [
        ('{"images": [], "annotations": [', "invalid JSON"),
        ('{"images": [], "annotations": [], "categories": {}}', "categories: expected a list"),
        (
            '{"images": [{"id": 1, "file_name": "vtest_000000.jpg", "height": 576, "width": 768}], "annotations": '
            '[{"image_id": 1, "category_id": 9, "bbox": [0, 0, 5, 5]}], "categories": [{"id": 1, "name": "a"}]}',
            "unknown category id 9",
        ),
        (
            '{"images": [{"id": 1, "file_name": "vtest_000000.jpg", "height": 576, "width": 768}], "annotations": '
            '[{"image_id": 1, "category_id": 1, "bbox": [700, 500, 200, 200]}], '
            '"categories": [{"id": 1, "name": "a"}]}',
            "outside",
        ),
        (
            '{"images": [{"id": 1, "file_name": "other.jpg", "height": 576, "width": 768}], "annotations": [], '
            '"categories": []}',
            "not a frame",
        ),
    ],
)
def test_bad_coco_files(tmp_path, document, message):
    refused("coco", write(tmp_path / "bad.json", document), FRAMES, message)


@pytest.mark.parametrize(
    "line, message",
    [
        ("5 0.5 0.5 0.1 0.1", "class id 5"),
        ("0 0.5 1.7 0.1 0.1", "normalised"),
        ("0 0.5 abc 0.1 0.1", "expected a class id"),
        ("0 0.5 0.5 0.1", "do not make"),
    ],
)
def test_bad_yolo_labels(tmp_path, line, message):
    write(tmp_path / "data.yaml", "names:\n  0: person\n  1: car\n")
    label = write(tmp_path / "labels" / "train" / "vtest_000000.txt", f"0 0.5 0.5 0.2 0.2\n{line}\n")
    with pytest.raises(AnnotationFormatError, match=message) as exc:
        import_annotations("yolo", tmp_path, FRAMES)
    assert f"{label}: line 2" in str(exc.value)


def test_a_roboflow_yolo_export_with_split_folders(tmp_path):
    """Roboflow's layout: <split>/images and <split>/labels beside data.yaml; a stem may hold dots."""
    write(tmp_path / "data.yaml", "train: ../train/images\nval: ../valid/images\nnc: 2\nnames: ['car', 'person']\n")
    write(tmp_path / "train" / "labels" / "vtest_000001.rf.3b2c.txt", "1 0.5 0.5 0.25 0.5\n")
    write(tmp_path / "valid" / "labels" / "vtest_000004.txt", "0 0.25 0.25 0.1 0.1\n")
    for split, stem in (("train", "vtest_000001.rf.3b2c"), ("valid", "vtest_000004")):
        (tmp_path / split / "images").mkdir()
        Image.new("RGB", (768, 576)).save(tmp_path / split / "images" / f"{stem}.jpg")
    imported = import_annotations("yolo", tmp_path, None)  # frames from the images beside the labels
    assert [(f.file_name, f.height, f.width) for f in imported.frames] == [
        ("vtest_000001.rf.3b2c.jpg", 576, 768),
        ("vtest_000004.jpg", 576, 768),
    ]
    assert [i.label for f in (0, 1) for i in imported.on(f)] == ["person", "car"]
    assert imported.on(0)[0].box == (288.0, 144.0, 480.0, 432.0)


def test_bad_davis_and_label_files(tmp_path):
    folder = tmp_path / "masks"
    folder.mkdir()
    Image.fromarray(np.zeros((10, 10), np.uint8), mode="P").save(folder / "00000.png")
    with pytest.raises(AnnotationFormatError, match="frame is 768x576"):
        import_annotations("davis", folder, FRAMES)
    labels = tmp_path / "labels"
    write(
        labels / "vtest_000000.json",
        json.dumps(
            {
                "version": "3",
                "flags": {},
                "imagePath": "vtest_000000.jpg",
                "imageData": None,
                "imageHeight": 576,
                "imageWidth": 768,
                "shapes": [{"label": "a", "points": [[0, 0], [900, 10], [5, 9]], "shape_type": "polygon"}],
            }
        ),
    )
    with pytest.raises(AnnotationFormatError, match=r"point \(900, 10\) lies outside"):
        import_annotations("xanylabeling", labels, FRAMES)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ_FRAMES = [FrameInfo(0, "a.jpg", 20, 30)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.-e \t", max_size=40), max_size=4))
def test_fuzzed_yolo_labels_load_or_fail_cleanly(lines):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write(root / "data.yaml", "names: [a, b]\n")
        write(root / "labels" / "a.txt", "\n".join(lines))
        try:
            imported = import_annotations("yolo", root, FUZZ_FRAMES)
            assert all(i.mask.shape == (20, 30) for i in imported.on(0))
        except AnnotationFormatError as exc:
            assert str(root) in str(exc)


coco_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 40) | st.floats(-5, 50) | st.sampled_from(["a.jpg", "a", ""]),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "image_id",
                    "category_id",
                    "bbox",
                    "segmentation",
                    "file_name",
                    "height",
                    "width",
                    "name",
                    "track_id",
                    "size",
                    "counts",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({"images": coco_values, "annotations": coco_values, "categories": coco_values}))
def test_fuzzed_coco_documents_load_or_fail_cleanly(document):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "coco.json", json.dumps(document))
        try:
            import_annotations("coco", path, FUZZ_FRAMES)
        except AnnotationFormatError as exc:
            assert str(path) in str(exc)


def _mots_line(frame, object_id, class_id, mask):
    from anymask.annotations import rle

    counts = rle.encode(mask)["counts"]
    return f"{frame} {object_id} {class_id} {mask.shape[0]} {mask.shape[1]} {counts}\n"


def test_mots_from_kitti_counts_frames_from_0_and_leaves_out_ignore_regions(tmp_path):
    """KITTI MOTS numbers frames from 0 and has no labels.txt: cars and pedestrians by their fixed numbers."""
    car, walker = np.zeros((576, 768), bool), np.zeros((576, 768), bool)
    car[10:50, 20:90], walker[200:300, 400:440] = True, True
    text = _mots_line(0, 1001, 1, car) + _mots_line(5, 2003, 2, walker) + _mots_line(5, 10000, 10, car)
    imported = import_annotations("mots", write(tmp_path / "0002.txt", text), FRAMES)
    assert imported.classes == ["car", "pedestrian"] and imported.notes == ["left out 1 ignore region(s) (class 10)"]
    assert sorted(imported.instances) == [0, 5]
    (on_0,), (on_5,) = imported.on(0), imported.on(5)
    assert (on_0.object_id, on_0.label, on_5.object_id, on_5.label) == (1, "car", 3, "pedestrian")
    assert np.array_equal(on_0.mask, car) and np.array_equal(on_5.mask, walker)


# X-AnyLabeling 4.2.1's LabelConverter.custom_to_mot, given frame_00000.json ... and classes.txt "person\ncar":
# frame (the label file name's digits), track, x, y, w, h, not difficult, class (from 0), 1; det.txt beside it
X_ANYLABELING_MOT = "0,1,100,100,50,100,1,0,1\n0,2,300,300,80,60,1,1,1\n4,1,104,100,50,100,0,0,1\n"
X_ANYLABELING_SEQINFO = (
    "[Sequence]\nname = MOT\nimdir = out\nframerate = 30\nseqlength = 2\nimwidth = 768\nimheight = 576\n"
    "imext = .jpg\n\n"
)


@pytest.mark.parametrize("classes_at", ["beside", "above", None])
def test_mot_as_x_anylabeling_writes_it_counts_frames_and_classes_from_0(tmp_path, classes_at):
    out = write(tmp_path / "labels" / "out" / "gt.txt", X_ANYLABELING_MOT).parent
    write(out / "det.txt", "0,-1,100,100,50,100,1,-1,-1,-1\n")
    write(out / "seqinfo.ini", X_ANYLABELING_SEQINFO)
    if classes_at:
        write((out if classes_at == "beside" else tmp_path / "labels") / "classes.txt", "person\ncar\n")
    imported = import_annotations("mot", out, FRAMES)
    assert sorted(imported.instances) == [0, 4]
    labels = ["person", "car"] if classes_at else ["class0", "class1"]
    assert [(i.object_id, i.label, i.box) for i in imported.on(0)] == [
        (1, labels[0], (100.0, 100.0, 150.0, 200.0)),
        (2, labels[1], (300.0, 300.0, 380.0, 360.0)),
    ]
    assert imported.notes[0].startswith("X-AnyLabeling's MOT: frames from 0")
    assert guess_format(out) == "mot"


def test_a_mot_file_with_a_frame_0_counts_from_0(tmp_path):
    """MOT has no frame 0; a file that has one numbers frames from 0 (as X-AnyLabeling's, moved away from
    its det.txt)."""
    where = write(tmp_path / "seq" / "gt" / "gt.txt", "0,4,0,0,10,10,1,1,1\n5,4,20,0,5,5,1,1,1\n").parent.parent
    assert sorted(import_annotations("mot", where, FRAMES).instances) == [0, 5]
    refused(
        "mot",
        write(tmp_path / "b" / "gt" / "gt.txt", "0,4,0,0,10,10,1,1,1\n6,4,0,0,5,5,1,1,1\n"),
        FRAMES,
        "frame 6 is not in 0..5",
    )


def test_mots_ids_shared_by_two_classes_stay_whole(tmp_path):
    mask = np.zeros((576, 768), bool)
    mask[:9, :9] = True
    text = _mots_line(1, 1001, 1, mask) + _mots_line(1, 2001, 2, ~mask)
    imported = import_annotations("mots", write(tmp_path / "gt.txt", text), FRAMES)
    assert sorted(i.object_id for i in imported.on(0)) == [1001, 2001]


@pytest.mark.parametrize(
    "format_name, text, message",
    [
        ("mot", "1,1,10,10,5\n", "expected frame,id,x,y,w,h"),
        ("mot", "9,1,10,10,5,5,1,1,1\n", "frame 9 is not in 1..6"),
        ("mot", "1,1,10,10,-5,5,1,1,1\n", "positive size"),
        ("mot", "1,1,nan,10,5,5,1,1,1\n", "positive size"),
        ("mot", "1 2001 2 576 768 P0\n", "this is MOTS"),
        ("mots", "1 2001 2 576 768\n", "expected frame id class_id height width rle"),
        ("mots", "1 2001 x 576 768 abc\n", "expected frame id class_id height width rle"),
        ("mots", "7 2001 2 576 768 P0\n", "frame 7 is not in 1..6"),
        ("mots", "1 2001 2 480 640 P0\n", "mask is 480x640, the frame 576x768"),
        ("mots", "1 2001 2 576 768 P0\n", "RLE counts cover"),
        ("mots", "1 2001 2 576 768 ~~\n", "invalid character"),
    ],
)
def test_bad_mot_and_mots_files(tmp_path, format_name, text, message):
    refused(format_name, write(tmp_path / "seq" / "gt" / "gt.txt", text), FRAMES, message, tmp_path / "seq")


def _voc(objects, filename="vtest_000002.jpg", size="<width>768</width><height>576</height>"):
    return f"<annotation><filename>{filename}</filename><size>{size}</size>{objects}</annotation>"


def _voc_object(name, box, track=None):
    attributes = "" if track is None else f"<attributes><attribute><name>track_id</name><value>{track}</value>"
    attributes += "</attribute></attributes>" if attributes else ""
    corners = "".join(f"<{k}>{v}</{k}>" for k, v in zip(("xmin", "ymin", "xmax", "ymax"), box))
    return f"<object><name>{name}</name>{attributes}<bndbox>{corners}</bndbox></object>"


def test_voc_from_another_tool_matches_frames_by_name_and_keeps_labelmap_order(tmp_path):
    """Plain VOC (no track ids: a box is an object) over a labelmap.txt; 1-based inclusive boxes."""
    write(tmp_path / "labelmap.txt", "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncar:1,2,3::\ndog:4,5,6::\n")
    write(
        tmp_path / "Annotations" / "a.xml", _voc(_voc_object("dog", (1, 1, 10, 20)) + _voc_object("car", (5, 5, 6, 6)))
    )
    write(tmp_path / "Annotations" / "b.xml", _voc(_voc_object("dog", (700, 500, 768, 576), 7), "vtest_000004.png"))
    imported = import_annotations("voc", tmp_path, FRAMES)
    assert imported.classes == ["car", "dog"] and sorted(imported.instances) == [2, 4]
    first, second = imported.on(2)
    assert (first.label, first.object_id, second.label, second.object_id) == ("dog", 8, "car", 9)
    assert first.mask.sum() == 10 * 20 and first.mask[0, 0] and first.mask[19, 9] and not first.mask[20, 10]
    (tracked,) = imported.on(4)
    assert tracked.object_id == 7 and tracked.mask.sum() == 69 * 77 and tracked.mask[575, 767]


@pytest.mark.parametrize(
    "document, message",
    [
        ("<annotation><filename>x", "invalid XML"),
        ("<annotations/>", "not a VOC annotation"),
        (_voc("", "other.jpg"), "no frame named other.jpg"),
        (_voc("", size="<width>640</width><height>480</height>"), "size 640x480, but vtest_000002.jpg is 768x576"),
        (_voc("<object><bndbox/></object>"), "has no <name>"),
        (_voc(_voc_object("a", (1, 1, "x", 5))), "needs numbers"),
        (_voc(_voc_object("a", (10, 10, 5, 20))), "empty or outside"),
        (_voc(_voc_object("a", (1, 1, 900, 20))), "empty or outside"),
        (_voc(_voc_object("a", (1, 1, "nan", 20))), "empty or outside"),
        (_voc(_voc_object("a", (1, 1, 5, 5), "-3")), "track_id '-3' is not a number from 0"),
    ],
)
def test_bad_voc_files(tmp_path, document, message):
    refused("voc", write(tmp_path / "Annotations" / "a.xml", document), FRAMES, message, tmp_path)
