"""Polygons traced once per mask: in worker processes, kept in the project's cache, equal to tracing here."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from anymask.annotations import polygon_cache, rle
from anymask.annotations.label_file import LabelFile, label_file_text, label_file_to_dict
from anymask.annotations.shapes import Shape
from anymask.formats import Dataset, FrameInfo, Instance, export_dataset

HEIGHT, WIDTH, FRAMES, OBJECTS = 120, 160, 12, 6  # 72 masks: over the pool threshold


def fragmented(rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    cy, cx = rng.integers(30, HEIGHT - 30), rng.integers(30, WIDTH - 30)
    blob = ((yy - cy) / rng.integers(10, 28)) ** 2 + ((xx - cx) / rng.integers(10, 40)) ** 2 <= 1
    noise = np.repeat(np.repeat(rng.random((HEIGHT // 4, WIDTH // 4)) > 0.3, 4, axis=0), 4, axis=1)
    return blob & noise  # components and holes


class BlankFrames:
    path = "clip.mp4"

    def frame(self, index: int) -> np.ndarray:
        return np.full((HEIGHT, WIDTH, 3), index * 10, dtype=np.uint8)


def make_dataset(tmp_path, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    frames = [FrameInfo(i, f"{i:05d}.jpg", HEIGHT, WIDTH) for i in range(FRAMES)]
    instances = {
        f: [Instance(o, f"class{o % 2}", rle.encode(fragmented(rng)), 0.9) for o in range(1, OBJECTS + 1)]
        for f in range(FRAMES)
    }
    dataset = Dataset("clip", frames, ["class0", "class1"], instances, source=BlankFrames())
    dataset.polygon_cache = tmp_path / "project" / "cache" / polygon_cache.CACHE_FILE
    return dataset


def export(dataset, format_name, out) -> str:
    """Every file the export wrote, by name."""
    export_dataset(dataset, format_name, out, mode="polygon")
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert files
    return json.dumps({str(p.relative_to(out)): p.read_bytes().hex() for p in files})


class CountingPool(polygon_cache.TracePool):
    tasks = 0

    def submit(self, task):
        CountingPool.tasks += 1
        return super().submit(task)


@pytest.mark.parametrize("format_name", ["coco", "yolo-seg", "xanylabeling", "cvat"])
def test_worker_processes_trace_what_this_process_traces(tmp_path, monkeypatch, format_name):
    monkeypatch.setattr(polygon_cache, "usable_cores", lambda: 1)
    here = export(make_dataset(tmp_path / "a"), format_name, tmp_path / "here")
    monkeypatch.setattr(polygon_cache, "usable_cores", lambda: 2)
    monkeypatch.setattr(polygon_cache, "TracePool", CountingPool)
    CountingPool.tasks = 0
    workers = export(make_dataset(tmp_path / "b"), format_name, tmp_path / "workers")
    assert CountingPool.tasks == FRAMES and workers == here


def test_a_second_export_takes_its_polygons_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(polygon_cache, "usable_cores", lambda: 1)
    first = export(make_dataset(tmp_path), "coco", tmp_path / "first")
    monkeypatch.setattr(polygon_cache, "trace_all", lambda *a: pytest.fail("traced again"))
    assert export(make_dataset(tmp_path), "coco", tmp_path / "second") == first


def test_the_cache_keeps_only_the_masks_of_the_last_export(tmp_path, monkeypatch):
    monkeypatch.setattr(polygon_cache, "usable_cores", lambda: 1)
    dataset = make_dataset(tmp_path)
    export(dataset, "coco", tmp_path / "first")
    export(dataset, "yolo-seg", tmp_path / "yolo")  # another kind of tracing: kept beside
    changed = make_dataset(tmp_path, seed=1)  # other masks on every frame but the first
    changed.instances[0] = dataset.instances[0]
    export(changed, "coco", tmp_path / "second")
    with sqlite3.connect(dataset.polygon_cache) as connection:
        kinds = dict(connection.execute("SELECT kind, count(*) FROM rings GROUP BY kind").fetchall())
    assert sorted(kinds.values()) == [FRAMES * OBJECTS, FRAMES * OBJECTS]


def test_a_damaged_cache_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setattr(polygon_cache, "usable_cores", lambda: 1)
    dataset = make_dataset(tmp_path)
    expected = export(dataset, "coco", tmp_path / "first")
    dataset.polygon_cache.write_bytes(b"not a database" * 100)
    for suffix in ("-wal", "-shm"):
        dataset.polygon_cache.with_name(dataset.polygon_cache.name + suffix).unlink(missing_ok=True)
    assert export(dataset, "coco", tmp_path / "second") == expected
    with sqlite3.connect(dataset.polygon_cache) as connection:
        assert connection.execute("SELECT count(*) FROM rings").fetchone()[0] == FRAMES * OBJECTS


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path, monkeypatch):
    monkeypatch.setattr(polygon_cache, "usable_cores", lambda: 1)
    expected = export(make_dataset(tmp_path / "a"), "coco", tmp_path / "first")
    dataset = make_dataset(tmp_path / "b")
    dataset.polygon_cache.parent.parent.mkdir(parents=True)
    dataset.polygon_cache.parent.write_text("a file where the cache folder belongs")
    assert export(dataset, "coco", tmp_path / "second") == expected


def test_dead_workers_leave_the_tracing_to_this_process(tmp_path, monkeypatch):
    monkeypatch.setattr(polygon_cache, "usable_cores", lambda: 1)
    expected = export(make_dataset(tmp_path / "a"), "coco", tmp_path / "here")

    class DeadPool(polygon_cache.TracePool):
        def __init__(self, workers):
            super().__init__(workers)
            for process in self.processes:
                process.kill()
                process.wait()

    monkeypatch.setattr(polygon_cache, "usable_cores", lambda: 2)
    monkeypatch.setattr(polygon_cache, "TracePool", DeadPool)
    assert export(make_dataset(tmp_path / "b"), "coco", tmp_path / "workers") == expected


def test_rings_survive_packing():
    rng = np.random.default_rng(3)
    rings = [rng.random((int(n), 2)) * 100 for n in rng.integers(3, 40, size=7)]
    unpacked = polygon_cache.unpack(polygon_cache.pack(rings))
    assert len(unpacked) == 7 and all(np.array_equal(a, b) for a, b in zip(rings, unpacked, strict=True))
    assert polygon_cache.unpack(polygon_cache.pack([])) == []


def test_rle_codec_equals_pycocotools_on_random_masks():
    from pycocotools import mask as coco_mask

    rng = np.random.default_rng(4)
    for _ in range(300):
        height, width = (int(v) for v in rng.integers(1, 70, size=2))
        mask = rng.random((height, width)) < rng.random()
        ours = rle.encode(mask)
        theirs = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
        assert ours["counts"] == theirs["counts"].decode()
        assert np.array_equal(rle.decode(ours), mask) and rle.area(ours) == int(coco_mask.area(theirs))
    big = [0, 2**33, 5, 2**40 - 7, 3]  # values past 32 bits, deltas of both signs
    assert rle._decompress(rle._compress(big)).tolist() == big


@pytest.mark.parametrize("bad", ["a`", "\x7f", "é", "P" * 13 + "0"])
def test_a_damaged_rle_string_is_a_value_error(bad):
    with pytest.raises(ValueError, match="RLE"):
        rle._decompress(bad)


def test_label_files_keep_points_on_one_line_and_read_back_equal():
    labels = ["person", "points", '"points": "\u0000x', "é"]
    shapes = [Shape(label=name, points=[[1, 2], [3.5, 4], [5, 6.25]], group_id=i) for i, name in enumerate(labels)]
    label_file = LabelFile(shapes, "x.jpg", 10, 20)
    text = label_file_text(label_file)
    assert json.loads(text) == label_file_to_dict(label_file)
    assert text.count('"points": [[1.0, 2.0], [3.5, 4.0], [5.0, 6.25]],') == 4
    tricky = Shape(label="a", points=[[1, 2], [3, 4], [5, 6]], extra={"note": {"points": "\u00000"}})
    label_file = LabelFile([tricky, *shapes], "x.jpg", 10, 20)  # a foreign key holding the placeholder
    assert json.loads(label_file_text(label_file)) == label_file_to_dict(label_file)


def test_rle_runs_outside_the_image_are_refused_before_decoding():
    with pytest.raises(ValueError, match="runs from 0 to 4 pixels"):
        rle.decode({"size": [2, 2], "counts": [2**40, 4 - 2**40]})  # sums to 4, but no such image
    with pytest.raises(ValueError, match="runs from 0 to 4 pixels"):
        rle.decode({"size": [2, 2], "counts": [-1, 5]})
    mask = np.zeros((5, 6), bool)
    mask[1:3, 2:5] = True
    compact = rle.encode(mask)
    as_bytes = {"size": compact["size"], "counts": compact["counts"].encode()}
    assert rle.area(as_bytes) == rle.area(compact) == 6 and rle.to_box(as_bytes) == (2.0, 1.0, 5.0, 3.0)
