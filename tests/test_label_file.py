"""X-AnyLabeling / labelme JSON: lossless round trips, clear errors for malformed files, fuzzing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anymask.annotations import LabelFile, Shape, read_label_file, write_label_file
from anymask.annotations.label_file import label_file_from_dict, label_file_to_dict
from anymask.errors import AnnotationFormatError

XANYLABELING = {
    "version": "2.4.4",
    "flags": {"checked": True},
    "shapes": [
        {
            "label": "car",
            "score": 0.93,
            "points": [[10.0, 20.0], [110.0, 20.0], [110.0, 80.0], [10.0, 80.0]],
            "group_id": 3,
            "description": "",
            "difficult": False,
            "shape_type": "rectangle",
            "flags": {},
            "attributes": {"color": "red"},
            "kie_linking": [],
            "xanylabeling_shape_id": "abc-1",
        },
        {
            "label": "boat",
            "score": None,
            "points": [[5, 5], [50, 10], [45, 40], [0, 35]],
            "group_id": None,
            "description": "tilted",
            "difficult": True,
            "shape_type": "rotation",
            "flags": {},
            "attributes": {},
            "kie_linking": [],
            "direction": 0.11,
        },
    ],
    "imagePath": "frame_001.jpg",
    "imageData": None,
    "imageHeight": 480,
    "imageWidth": 640,
    "description": "reviewed",
}

LABELME = {
    "version": "5.4.1",
    "flags": {},
    "shapes": [
        {
            "label": "dog",
            "points": [[1, 2], [30, 40]],
            "group_id": None,
            "description": "",
            "shape_type": "rectangle",
            "flags": {},
            "mask": None,
        },
        {"label": "tail", "points": [[1, 1], [9, 1], [9, 9]], "group_id": None, "shape_type": "polygon", "flags": {}},
    ],
    "imagePath": "../images/dog.png",
    "imageData": "iVBORw0KGgo=",
    "imageHeight": 100,
    "imageWidth": 200,
}


def test_xanylabeling_round_trip_is_lossless(tmp_path):
    source = tmp_path / "frame_001.json"
    source.write_text(json.dumps(XANYLABELING))
    loaded = read_label_file(source)
    assert loaded.shapes[0].extra["xanylabeling_shape_id"] == "abc-1"
    assert loaded.shapes[1].direction == pytest.approx(0.11) and loaded.shapes[1].difficult
    write_label_file(loaded, tmp_path / "out.json")
    assert json.loads((tmp_path / "out.json").read_text()) == json.loads(json.dumps(XANYLABELING))


def test_labelme_file_keeps_its_keys(tmp_path):
    source = tmp_path / "dog.json"
    source.write_text(json.dumps(LABELME))
    loaded = read_label_file(source)
    assert loaded.shapes[0].points == [[1.0, 2.0], [30.0, 40.0]] and loaded.image_data == "iVBORw0KGgo="
    written = label_file_to_dict(loaded)
    assert written["shapes"][0]["mask"] is None
    for key in ("version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"):
        assert key in written
    again = label_file_from_dict(written)
    assert [s.points for s in again.shapes] == [s.points for s in loaded.shapes]


def test_written_files_have_the_keys_both_tools_read(tmp_path):
    label_file = LabelFile([Shape("cat", [[0, 0], [4, 0], [4, 4]], group_id=1, score=0.5)], "a.jpg", 10, 12)
    write_label_file(label_file, tmp_path / "a.json")
    data = json.loads((tmp_path / "a.json").read_text())
    assert list(data)[:7] == ["version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"]
    assert set(data["shapes"][0]) >= {
        "label",
        "points",
        "group_id",
        "shape_type",
        "flags",
        "description",
        "difficult",
        "attributes",
        "score",
        "kie_linking",
    }


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(shapes="oops"), "shapes: expected a list"),
        (lambda d: d["shapes"][0].update(points=[[1, 2, 3]]), r"shapes\[0\].points\[0\]"),
        (lambda d: d["shapes"][0].update(points=[["a", 2], [3, 4]]), "expected a number"),
        (lambda d: d["shapes"][0].update(label=7), r"shapes\[0\].label"),
        (lambda d: d["shapes"][1].update(shape_type="blob"), "unknown shape type"),
        (lambda d: d["shapes"][1].update(points=[[1, 1]]), "at least 4 points"),
        (lambda d: d.update(imageHeight=-3), "imageHeight"),
        (lambda d: d.update(imagePath=None), "imagePath"),
        (lambda d: d["shapes"][0].update(group_id="three"), "group_id"),
    ],
)
def test_malformed_files_name_file_and_place(tmp_path, mutate, message):
    data = json.loads(json.dumps(XANYLABELING))
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(AnnotationFormatError, match=message) as exc:
        read_label_file(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_truncated_json(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(XANYLABELING)[:150])
    with pytest.raises(AnnotationFormatError, match="invalid JSON at line"):
        read_label_file(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5000) | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "label",
                    "points",
                    "shape_type",
                    "shapes",
                    "imagePath",
                    "imageHeight",
                    "imageWidth",
                    "group_id",
                    "score",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_fuzzed_documents_load_or_fail_cleanly(document):
    try:
        label_file_from_dict(document, "fuzz.json")
    except AnnotationFormatError as exc:
        assert str(exc).startswith("fuzz.json: ")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzzed_shapes_inside_a_valid_file(data):
    document = json.loads(json.dumps(XANYLABELING))
    document["shapes"].append(data.draw(json_values))
    try:
        loaded = label_file_from_dict(document, "fuzz.json")
        assert len(loaded.shapes) == 3
    except AnnotationFormatError:
        pass
