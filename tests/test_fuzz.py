"""Fuzzing: prompts files, manifests, every importer's files and checkpoints end in success or one clean line."""

from __future__ import annotations

import copy
import io
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anymask.errors import AnymaskError
from anymask.formats import FrameInfo, import_annotations

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


def shaped(keys: list[str], values=json_values):
    """Dicts with the keys a format expects (each maybe left out) holding arbitrary values."""
    return st.fixed_dictionaries({}, optional={key: values for key in keys})


def dump(value) -> str:
    return json.dumps(value, allow_nan=True)


def clean(error: Exception) -> None:
    assert isinstance(error, AnymaskError), f"{type(error).__name__}: {error}"
    assert "\n" not in str(error) and str(error)


def outcome(function, *args):
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - the point: only AnymaskError may come out
        clean(error)
        return None


near_prompt = shaped(["id", "label", "frame", "points", "box", "image"])
point = st.lists(st.one_of(scalars, st.integers(0, 1)), min_size=0, max_size=4)
prompt_entry = st.one_of(
    near_prompt,
    st.fixed_dictionaries(
        {"id": st.one_of(st.integers(-5, 2**64), scalars), "points": st.lists(point, max_size=4)},
        optional={"box": st.lists(scalars, max_size=5), "frame": st.one_of(st.integers(-3, 2**40), scalars)},
    ),
)


@FUZZ
@given(
    st.one_of(
        json_values, st.fixed_dictionaries({"objects": st.one_of(json_values, st.lists(prompt_entry, max_size=4))})
    )
)
def test_prompts_documents(document):
    from anymask.session.prompt_file import parse_prompts

    for images in (False, True):
        entries = outcome(parse_prompts, document, "p.json", images)
        for entry in entries or []:
            assert all(math.isfinite(v) for p in entry["points"] for v in p)


@FUZZ
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "videos": st.lists(
                    st.one_of(
                        json_values, shaped(["path", "prompts", "seeds", "formats", "direction", "start", "end"])
                    ),
                    max_size=3,
                )
            }
        ),
    )
)
def test_manifests(tmp_path_factory, document):
    from anymask.batch import read_manifest

    folder = tmp_path_factory.mktemp("manifest")
    (folder / "m.json").write_text(dump(document))
    outcome(read_manifest, folder / "m.json")


FRAMES = [FrameInfo(0, "a.jpg", 20, 30), FrameInfo(1, "b.jpg", 20, 30)]


def named_frames(names: list[str]):
    """A frame source class with these frame names, each 30x20 (what seeds match detections against)."""

    class Source:
        def __len__(self):
            return len(names)

        def frame_name(self, index):
            return names[index]

        def frame_size(self, index=0):
            return (20, 30)

    return Source


@FUZZ
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "images": st.lists(st.one_of(json_values, shaped(["id", "file_name", "height", "width"])), max_size=3),
                "categories": st.lists(st.one_of(json_values, shaped(["id", "name"])), max_size=3),
                "annotations": st.lists(
                    st.one_of(
                        json_values,
                        shaped(["id", "image_id", "category_id", "bbox", "segmentation", "track_id", "score"]),
                    ),
                    max_size=3,
                ),
            }
        ),
    ),
    st.booleans(),
)
def test_coco_files(tmp_path_factory, document, with_frames):
    path = tmp_path_factory.mktemp("coco") / "c.json"
    path.write_text(dump(document))
    outcome(import_annotations, "coco", path, FRAMES if with_frames else None)


@FUZZ
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "shapes": st.lists(
                    st.one_of(json_values, shaped(["label", "points", "shape_type", "group_id", "score"])), max_size=3
                )
            },
            optional={
                "imagePath": json_values,
                "imageHeight": json_values,
                "imageWidth": json_values,
                "version": json_values,
            },
        ),
    ),
    st.booleans(),
)
def test_labelme_files(tmp_path_factory, document, with_frames):
    folder = tmp_path_factory.mktemp("labelme")
    (folder / "a.json").write_text(dump(document))
    outcome(import_annotations, "xanylabeling", folder, FRAMES if with_frames else None)


@FUZZ
@given(st.lists(st.text(alphabet="0123456789 .-e\tnaif", max_size=40), max_size=4), st.booleans())
def test_yolo_label_files(tmp_path_factory, lines, with_yaml):
    root = tmp_path_factory.mktemp("yolo")
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "train" / "a.txt").write_text("\n".join(lines))
    if with_yaml:
        (root / "data.yaml").write_text("names: [x, y]\n")
    outcome(import_annotations, "yolo", root, FRAMES)


@FUZZ
@given(st.binary(max_size=300), st.integers(0, 3))
def test_davis_masks(tmp_path_factory, noise, mode):
    from PIL import Image

    folder = tmp_path_factory.mktemp("davis")
    if mode == 0:
        (folder / "00000.png").write_bytes(noise)
    else:
        values = np.frombuffer(noise.ljust(600, b"\0")[:600], np.uint8).reshape(20, 30)
        Image.fromarray(values, mode="L" if mode == 1 else None).convert("P" if mode == 2 else "L").save(
            folder / "00000.png"
        )
        if mode == 3:
            (folder / "anymask_objects.json").write_text(noise.decode("latin-1"))
    outcome(import_annotations, "davis", folder, FRAMES)


@FUZZ
@given(st.lists(st.text(alphabet="0123456789,.- enaif", max_size=40), max_size=4), st.booleans())
def test_mot_gt_files(tmp_path_factory, lines, with_seqinfo):
    root = tmp_path_factory.mktemp("mot")
    (root / "gt").mkdir()
    (root / "gt" / "gt.txt").write_text("\n".join(lines))
    if with_seqinfo:
        (root / "seqinfo.ini").write_text("[Sequence]\nseqLength=3\nimWidth=64\nimHeight=48\n")
    outcome(import_annotations, "mot", root, None if with_seqinfo else FRAMES)


CVAT_ATTRIBUTES = ("frame", "xtl", "ytl", "xbr", "ybr", "points", "left", "top", "width", "height", "rle", "outside")
cvat_values = st.one_of(st.text(alphabet="0123456789,;.-nai ", max_size=12), st.integers(-5, 300).map(str))


@FUZZ
@given(
    st.sampled_from(["track", "image"]),
    st.lists(
        st.tuples(
            st.sampled_from(["box", "polygon", "mask"]), st.dictionaries(st.sampled_from(CVAT_ATTRIBUTES), cvat_values)
        ),
        max_size=3,
    ),
    st.booleans(),
)
def test_cvat_files(tmp_path_factory, parent, shapes, with_frames):
    import xml.etree.ElementTree as ET

    root = ET.Element("annotations")
    holder = ET.SubElement(root, parent, {"id": "0", "label": "a", "name": "a.jpg", "width": "64", "height": "48"})
    for tag, attributes in shapes:
        ET.SubElement(holder, tag, {"label": "a", **attributes})
    path = tmp_path_factory.mktemp("cvat") / "annotations.xml"
    path.write_text(ET.tostring(root, encoding="unicode"))
    outcome(import_annotations, "cvat", path, FRAMES if with_frames else None)


@FUZZ
@given(st.lists(st.text(alphabet="0123456789,.- e", max_size=40), max_size=4))
def test_mot_seed_files(tmp_path_factory, lines):
    from anymask.batch.seeds import FrameIndex, read_mot

    Source = named_frames(["000000.jpg", "000001.jpg"])

    path = tmp_path_factory.mktemp("mot") / "det.txt"
    path.write_text("\n".join(lines))
    outcome(read_mot, path, FrameIndex(Source()))


@pytest.fixture(scope="module")
def small_checkpoint_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save({"model": {"a.weight": torch.randn(4, 4), "b.bias": torch.zeros(3)}}, buffer)
    return buffer.getvalue()


checkpoint_values = st.one_of(
    st.builds(lambda n: torch.randn(n), st.integers(0, 4)),
    st.builds(lambda v: torch.tensor([v]), st.floats(allow_nan=True)),
    scalars,
    st.lists(st.integers(), max_size=3),
)


@FUZZ
@given(
    st.one_of(
        st.dictionaries(st.one_of(st.text(max_size=10), st.integers()), checkpoint_values, max_size=4),
        st.fixed_dictionaries(
            {"model": st.dictionaries(st.one_of(st.text(max_size=40), st.integers()), checkpoint_values, max_size=4)}
        ),
        scalars,
    )
)
def test_checkpoint_payloads(tmp_path_factory, payload):
    from anymask.sam2 import load_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "c.pt"
    torch.save(payload, path)
    outcome(load_checkpoint, path)


@FUZZ
@given(st.integers(0, 10_000), st.integers(1, 50), st.booleans())
def test_damaged_checkpoint_bytes(tmp_path_factory, small_checkpoint_bytes, seed, flips, truncate):
    from anymask.sam2 import load_checkpoint

    data = bytearray(small_checkpoint_bytes)
    rng = random.Random(seed)
    for _ in range(flips):
        data[rng.randrange(len(data))] = rng.randrange(256)
    if truncate:
        data = data[: rng.randrange(len(data))]
    path = Path(tmp_path_factory.mktemp("bytes")) / "c.pt"
    path.write_bytes(bytes(data))
    outcome(load_checkpoint, path)


# mutations of valid files: one to three values replaced by hostile ones ----------------------------------------
HOSTILE = [
    2**70,
    -(2**70),
    2**2000,
    -1,
    0,
    1e308,
    float("inf"),
    float("nan"),
    "x",
    "",
    None,
    [],
    {},
    True,
    [1, 2],
    -0.5,
]


def mutate(template, seed: int, count: int):
    """A deep copy of `template` with `count` leaves or containers replaced by hostile values."""
    rng = random.Random(seed)
    document = json.loads(json.dumps(template))
    for _ in range(count):
        node, key = None, None
        current = document
        while isinstance(current, (dict, list)) and current and (node is None or rng.random() < 0.7):
            keys = list(current) if isinstance(current, dict) else list(range(len(current)))
            node, key = current, rng.choice(keys)
            current = current[key]
        if node is not None:
            node[key] = copy.deepcopy(rng.choice(HOSTILE))
    return document


mutations = st.tuples(st.integers(0, 2**32), st.integers(1, 3))

COCO = {
    "images": [
        {"id": 1, "file_name": "a.jpg", "height": 20, "width": 30},
        {"id": 2, "file_name": "b.jpg", "height": 20, "width": 30},
    ],
    "categories": [{"id": 1, "name": "x"}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 5, 6], "track_id": 3, "score": 0.5},
        {"id": 2, "image_id": 2, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9, 1, 9]], "bbox": [1, 1, 8, 8]},
        {"id": 3, "image_id": 2, "category_id": 1, "segmentation": {"size": [20, 30], "counts": [0, 600]}},
    ],
}
LABELME = {
    "version": "5.0",
    "flags": {},
    "shapes": [
        {"label": "x", "points": [[1, 1], [9, 9]], "shape_type": "rectangle", "group_id": 1, "flags": {}},
        {"label": "y", "points": [[1, 1], [9, 1], [9, 9]], "shape_type": "polygon", "group_id": None, "flags": {}},
        {
            "label": "z",
            "points": [[1, 1], [9, 1], [9, 9], [1, 9]],
            "shape_type": "rotation",
            "direction": 0.1,
            "flags": {},
        },
    ],
    "imagePath": "a.jpg",
    "imageData": None,
    "imageHeight": 20,
    "imageWidth": 30,
}
PROMPTS = {"objects": [{"id": 1, "label": "a", "frame": 0, "points": [[1, 2, 1], [3, 4, 0]], "box": [1, 1, 5, 5]}]}
MANIFEST = {
    "videos": [
        {"path": "a.mp4", "prompts": PROMPTS, "formats": ["coco"], "direction": "both", "start": 0, "end": 3},
        {"path": "b", "seeds": {"format": "coco", "file": "d.json", "frames": [0], "min_score": 0.5, "classes": ["x"]}},
    ]
}


@FUZZ
@given(mutations, st.booleans())
def test_mutated_coco(tmp_path_factory, mutation, with_frames):
    path = tmp_path_factory.mktemp("coco") / "c.json"
    path.write_text(dump(mutate(COCO, *mutation)))
    outcome(import_annotations, "coco", path, FRAMES if with_frames else None)


@FUZZ
@given(mutations, st.booleans())
def test_mutated_labelme(tmp_path_factory, mutation, with_frames):
    folder = tmp_path_factory.mktemp("labelme")
    (folder / "a.json").write_text(dump(mutate(LABELME, *mutation)))
    outcome(import_annotations, "labelme", folder, FRAMES if with_frames else None)


@FUZZ
@given(mutations)
def test_mutated_prompts_and_manifests(tmp_path_factory, mutation):
    from anymask.batch import read_manifest
    from anymask.session.prompt_file import parse_prompts

    outcome(parse_prompts, mutate(PROMPTS, *mutation), "p.json")
    folder = tmp_path_factory.mktemp("manifest")
    (folder / "m.json").write_text(dump(mutate(MANIFEST, *mutation)))
    outcome(read_manifest, folder / "m.json")


@FUZZ
@given(mutations)
def test_mutated_coco_seeds(tmp_path_factory, mutation):
    from anymask.batch.manifest import Seeds
    from anymask.batch.seeds import seed_prompts

    Source = named_frames(["a.jpg", "b.jpg"])

    path = tmp_path_factory.mktemp("seeds") / "d.json"
    path.write_text(
        dump(mutate({**COCO, "annotations": [{**a, "score": 0.9} for a in COCO["annotations"]]}, *mutation))
    )
    outcome(seed_prompts, Seeds("coco", path, (0, 1), 0.5, None), Source())


TOKENS = ["0", "1", "-1", "0.5", "inf", "-inf", "nan", "1e999", "9" * 30, "2.5", "x", "", "1e-9", "300"]
token_lines = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=10)


@FUZZ
@given(token_lines)
def test_yolo_and_mot_lines_of_hostile_numbers(tmp_path_factory, tokens):
    from anymask.batch.manifest import Seeds
    from anymask.batch.seeds import seed_prompts

    Source = named_frames(["000000.jpg"])

    root = tmp_path_factory.mktemp("lines")
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "train" / "000000.txt").write_text(" ".join(tokens) + "\n")
    (root / "data.yaml").write_text("names: [a, b]\n")
    outcome(import_annotations, "yolo", root, [FrameInfo(0, "000000.jpg", 20, 30)])
    outcome(seed_prompts, Seeds("yolo", root / "labels", (0,), 0.0, None), Source())
    (root / "det.txt").write_text(",".join(tokens) + "\n")
    outcome(seed_prompts, Seeds("mot", root / "det.txt", (0,), 0.0, None), Source())
