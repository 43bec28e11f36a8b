"""Hostile files: names that lead out of the output folder, size bombs, odd images, exports that appear whole."""

from __future__ import annotations

import errno
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anymask.errors import AnnotationFormatError, AnymaskError, MediaError
from anymask.formats import EXPORT_FORMATS, FrameInfo, export_dataset, import_annotations
from anymask.formats.dataset import Dataset, Instance
from anymask.formats.staging import STAGE_PREFIX
from anymask.media import open_source
from anymask.media.folder import read_rgb


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def image_folder(folder: Path, names: list[str], size=(40, 60)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names):
        picture = np.full((*size, 3), 40 * index, np.uint8)
        Image.fromarray(picture).save(folder / name)
    return folder


def box_rle(height, width, box):
    from anymask.annotations import rle

    mask = np.zeros((height, width), bool)
    x1, y1, x2, y2 = box
    mask[y1:y2, x1:x2] = True
    return rle.encode(mask)


# names from foreign files --------------------------------------------------------------------------------
def hostile_sources(root: Path) -> dict[str, Path]:
    """One annotation file per importer whose image names lead out of any folder."""
    outside = root / "outside"
    evil = [f"../../../../../../{outside}/evil.jpg", str(outside / "abs.jpg")]
    coco = {
        "images": [{"id": i + 1, "file_name": name, "height": 40, "width": 60} for i, name in enumerate(evil)],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [5, 5, 20, 20]} for i in range(2)],
    }
    (root / "coco.json").write_text(json.dumps(coco))
    labels = root / "labelme"
    labels.mkdir()
    for index, name in enumerate(evil):
        shape = {"label": "thing", "points": [[5, 5], [25, 25]], "shape_type": "rectangle", "group_id": 1, "flags": {}}
        document = {"version": "5.0", "flags": {}, "shapes": [shape], "imagePath": name, "imageData": None}
        (labels / f"f{index}.json").write_text(json.dumps({**document, "imageHeight": 40, "imageWidth": 60}))
    images = "".join(
        f'<image id="{i}" name="{name}" width="60" height="40">'
        '<box label="thing" xtl="5" ytl="5" xbr="25" ybr="25" occluded="0"/></image>'
        for i, name in enumerate(evil)
    )
    (root / "cvat.xml").write_text(f"<annotations><version>1.1</version>{images}</annotations>")
    return {"coco": root / "coco.json", "labelme": labels, "cvat": root / "cvat.xml"}


@pytest.mark.parametrize("importer", ["coco", "labelme", "cvat"])
@pytest.mark.parametrize("format_name", list(EXPORT_FORMATS))
def test_imported_names_never_lead_out_of_the_export_folder(tmp_path, importer, format_name):
    source_path = hostile_sources(tmp_path)[importer]
    dataset = import_annotations(importer, source_path)
    dataset.source = open_source(image_folder(tmp_path / "frames", ["a.jpg", "b.jpg"]))
    before = files_under(tmp_path)
    out = tmp_path / "deep" / "out"
    export_dataset(dataset, format_name, out)
    written = files_under(tmp_path) - before
    assert written and all(out in path.parents for path in written), sorted(written)
    assert not (tmp_path / "outside").exists()
    assert not list((tmp_path / "deep").glob(f"{STAGE_PREFIX}*"))  # the stage is gone


def test_names_taken_from_files_are_made_safe_and_unique():
    frames = [
        FrameInfo(i, name, 4, 4) for i, name in enumerate(["img.jpg", "img.png", "IMG.jpg", "../x/img.jpg", ".."])
    ]
    dataset = Dataset("../../name", frames, [])
    assert dataset.name == "name"
    assert [dataset.stem(f) for f in frames] == ["img", "img_png", "IMG_jpg", "img-2", "000004"]
    names = ["img.jpg", "img_png.png", "IMG_jpg.jpg", "img-2.jpg", "000004.jpg"]
    assert [dataset.image_name(f) for f in frames] == names


@pytest.mark.parametrize("format_name", ["yolo-seg", "voc", "xanylabeling"])
def test_same_stem_in_an_image_folder_keeps_both_objects(tmp_path, format_name):
    source = open_source(image_folder(tmp_path / "frames", ["img.jpg", "img.png"]))
    frames = [FrameInfo(i, source.frame_name(i), 40, 60) for i in range(2)]
    instances = {i: [Instance(i + 1, "thing", box_rle(40, 60, (5 + i, 5, 25, 30)))] for i in range(2)}
    export_dataset(Dataset("frames", frames, ["thing"], instances, source), format_name, tmp_path / "out")
    written = files_under(tmp_path / "out")
    labels = [p for p in written if p.suffix in (".txt", ".xml", ".json") and p.parent.name != "Main"]
    labels = [p for p in labels if p.name not in ("labelmap.txt", "classes.txt")]
    images = [p for p in written if p.suffix in (".jpg", ".png")]
    assert len(labels) == 2 and len(images) == 2, sorted(written)
    if format_name == "voc":  # both images kept, each with its own annotation
        originals = [np.asarray(Image.open(p)).mean() for p in sorted(images)]
        assert abs(originals[0] - originals[1]) > 20


def test_an_export_never_writes_through_a_link_inside_the_output(tmp_path):
    source = open_source(image_folder(tmp_path / "frames", ["a.jpg"]))
    dataset = Dataset(
        "frames",
        [FrameInfo(0, "a.jpg", 40, 60)],
        ["thing"],
        {0: [Instance(1, "thing", box_rle(40, 60, (1, 1, 9, 9)))]},
        source,
    )
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "labels").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(AnymaskError, match="labels: is a symbolic link; anymask never writes an export through one"):
        export_dataset(dataset, "yolo-det", tmp_path / "out")
    assert not any((tmp_path / "elsewhere").iterdir())


def test_a_linked_image_is_read_and_its_bytes_exported(tmp_path):
    """The rule: links in an image folder are followed for reading (a person may link their images)."""
    image_folder(tmp_path / "real", ["a.jpg"])
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "a.jpg").symlink_to(tmp_path / "real" / "a.jpg")
    source = open_source(tmp_path / "frames")
    dataset = Dataset("frames", [FrameInfo(0, "a.jpg", 40, 60)], [], {}, source)
    export_dataset(dataset, "xanylabeling", tmp_path / "out", empty_frames=True)
    assert (tmp_path / "out" / "a.jpg").read_bytes() == (tmp_path / "real" / "a.jpg").read_bytes()
    assert not (tmp_path / "out" / "a.jpg").is_symlink()


# exports appear whole or not at all ----------------------------------------------------------------------
def test_a_failing_export_leaves_nothing_and_a_killed_ones_stage_is_removed(tmp_path, monkeypatch):
    import anymask.formats.dataset as dataset_module

    source = open_source(image_folder(tmp_path / "frames", [f"{i}.jpg" for i in range(4)]))
    frames = [FrameInfo(i, f"{i}.jpg", 40, 60) for i in range(4)]
    dataset = Dataset("frames", frames, [], {}, source)
    calls = []
    real = dataset_module.Dataset.write_image

    def disk_full_on_the_third(self, frame, path):
        calls.append(frame.index)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, frame, path)

    monkeypatch.setattr(dataset_module.Dataset, "write_image", disk_full_on_the_third)
    with pytest.raises(OSError, match="No space left"):
        export_dataset(dataset, "voc", tmp_path / "out", empty_frames=True)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(f"{STAGE_PREFIX}*"))
    monkeypatch.undo()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{STAGE_PREFIX}{int(dead.stdout)}-abc" / "out"
    stale.mkdir(parents=True)
    (stale / "half.xml").write_text("<annotation>")
    export_dataset(dataset, "voc", tmp_path / "out", empty_frames=True)
    assert not stale.parent.exists() and len(list((tmp_path / "out" / "Annotations").iterdir())) == 4


def test_exported_files_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        dataset = Dataset(
            "v", [FrameInfo(0, "a.jpg", 4, 4)], ["thing"], {0: [Instance(1, "thing", box_rle(4, 4, (0, 0, 2, 2)))]}
        )
        path = export_dataset(dataset, "coco", tmp_path / "out")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644


# sizes and pixel formats ----------------------------------------------------------------------------------
def png_declaring(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header declares width x height (a decompression bomb's header)."""
    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    header = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(header)) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def test_a_huge_declared_image_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "frames").mkdir()
    bomb = png_declaring(tmp_path / "frames" / "bomb.png", 20000, 20000)
    with pytest.raises(MediaError, match=r"bomb.png: image is too large"):
        read_rgb(bomb)
    with pytest.raises(MediaError, match=r"bomb.png: image is too large"):
        open_source(tmp_path / "frames").frame_size(0)
    (tmp_path / "davis").mkdir()
    png_declaring(tmp_path / "davis" / "00000.png", 20000, 20000)
    with pytest.raises(AnnotationFormatError, match="00000.png: image is too large"):
        import_annotations("davis", tmp_path / "davis")


@pytest.mark.parametrize("declared", ["image", "rle"])
def test_coco_sizes_are_checked_before_allocating(tmp_path, declared):
    size = 100000 if declared == "image" else 40
    annotation = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}
    if declared == "rle":
        annotation["segmentation"] = {"size": [100000, 100000], "counts": "0"}
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "height": size, "width": size}],
        "categories": [{"id": 1, "name": "x"}],
        "annotations": [annotation],
    }
    (tmp_path / "c.json").write_text(json.dumps(coco))
    with pytest.raises(AnnotationFormatError) as error:
        import_annotations("coco", tmp_path / "c.json")
    assert "c.json" in str(error.value) and ("larger than" in str(error.value) or "RLE size" in str(error.value))


def test_sixteen_bit_and_float_images_are_scaled_not_clipped(tmp_path):
    values = np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    frame = read_rgb(tmp_path / "deep.png")
    assert frame.dtype == np.uint8 and frame.shape == (48, 64, 3)
    assert abs(frame.mean() - values.mean() / 257) < 1.0  # not 255 everywhere
    floats = np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(48, 64)
    Image.fromarray(floats, mode="F").save(tmp_path / "float.tif")
    assert abs(read_rgb(tmp_path / "float.tif").mean() - 127.5) < 1.0


# command-line inputs -------------------------------------------------------------------------------------
def anymask(*args):
    return subprocess.run([sys.executable, "-m", "anymask.cli", *map(str, args)], capture_output=True, text=True)


def one_line(result, *fragments):
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.mark.parametrize(
    "prompts, fragment",
    [
        ('{"objects": [{"id": 1, "points": [[1e400, 5, 1]]}]}', "points"),
        ('{"objects": [{"id": 1, "points": [[' + "9" * 400 + ", 5, 1]]}]}", "points"),
        ('{"objects": [{"id": 9223372036854775808, "points": [[5, 5, 1]]}]}', '"id" from 0 to'),
        ('{"objects": [{"id": -1, "points": [[5, 5, 1]]}]}', '"id" from 0 to'),
        ('{"objects": [{"id": 1, "frame": 99999999999, "points": [[5, 5, 1]]}]}', "frame"),
        ('{"objects": [{"id": 1, "points": ' + json.dumps([[1, 1, 1]] * 65) + "}]}", "at most 64"),
        ('{"objects": ' + "[" * 100000 + "]" * 100000 + "}", "nested too deeply"),
    ],
    ids=["huge float", "huge int", "id past int64", "negative id", "huge frame", "65 points", "deep nesting"],
)
def test_hostile_prompts_files_get_one_line(tmp_path, prompts, fragment):
    image_folder(tmp_path / "frames", ["a.jpg"])
    (tmp_path / "p.json").write_text(prompts)
    result = anymask(
        "track", tmp_path / "frames", "--prompts", tmp_path / "p.json", "--out", tmp_path / "o", "--format", "coco"
    )
    one_line(result, "p.json", fragment)


def test_a_folder_as_prompts_and_a_file_as_out_get_one_line(tmp_path):
    image_folder(tmp_path / "frames", ["a.jpg"])
    result = anymask("track", tmp_path / "frames", "--prompts", tmp_path, "--out", tmp_path / "o", "--format", "coco")
    one_line(result, "is a folder, not a prompts file")
    (tmp_path / "p.json").write_text('{"objects": [{"id": 1, "points": [[5, 5, 1]]}]}')
    (tmp_path / "file").write_text("x")
    result = anymask(
        "track", tmp_path / "frames", "--prompts", tmp_path / "p.json", "--out", tmp_path / "file", "--format", "coco"
    )
    one_line(result, "file: --out names a file")
    result = anymask("export", tmp_path / "frames", "--format", "coco", "--out", tmp_path / "file")
    one_line(result, "--out names a file")


@pytest.mark.parametrize("format_name", list(EXPORT_FORMATS))
def test_exports_report_progress_per_frame(tmp_path, format_name):
    source = open_source(image_folder(tmp_path / "frames", ["a.jpg", "b.jpg", "c.jpg"]))
    frames = [FrameInfo(i, source.frame_name(i), 40, 60) for i in range(3)]
    instances = {i: [Instance(1, "thing", box_rle(40, 60, (5, 5, 25, 30)))] for i in range(3)}
    calls = []
    export_dataset(
        Dataset("v", frames, ["thing"], instances, source),
        format_name,
        tmp_path / "out",
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]


def json_files_as_each_reader_takes_them(root: Path, text: bytes) -> dict[str, tuple[Path, object]]:
    """Where each JSON reader finds its file (written with `text`), and how to call that reader."""
    from anymask.batch.manifest import read_manifest
    from anymask.batch.seeds import FrameIndex, read_coco

    frames = [FrameInfo(0, "a.jpg", 40, 60)]
    davis = root / "davis"
    davis.mkdir(parents=True)
    Image.new("P", (60, 40)).save(davis / "00000.png")
    files = {
        "coco": root / "coco.json",
        "youtube-vis": root / "instances.json",
        "labelme": root / "labels" / "a.json",
        "davis": davis / "anymask_objects.json",
        "manifest": root / "manifest.json",
        "seeds": root / "seeds.json",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text)
    readers = {
        "coco": lambda: import_annotations("coco", files["coco"], frames),
        "youtube-vis": lambda: import_annotations("youtube-vis", files["youtube-vis"], frames),
        "labelme": lambda: import_annotations("labelme", files["labelme"].parent, frames),
        "davis": lambda: import_annotations("davis", davis, frames),
        "manifest": lambda: read_manifest(files["manifest"]),
        "seeds": lambda: read_coco(files["seeds"], FrameIndex(open_source(image_folder(root / "frames", ["a.jpg"])))),
    }
    return {name: (files[name], readers[name]) for name in files}


@pytest.mark.parametrize("reader", ["coco", "youtube-vis", "labelme", "davis", "manifest", "seeds"])
@pytest.mark.parametrize(
    "text, fragment",
    [(b"[" * 100000 + b"]" * 100000, "JSON nested too deeply"), (b'{"a": "\xff"}', "not UTF-8 text")],
    ids=["deep nesting", "not utf-8"],
)
def test_every_json_reader_refuses_hostile_json_in_one_line(tmp_path, reader, text, fragment):
    path, read = json_files_as_each_reader_takes_them(tmp_path, text)[reader]
    with pytest.raises(AnnotationFormatError, match=fragment) as exc:
        read()
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)
