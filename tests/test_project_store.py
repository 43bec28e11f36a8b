"""Project store: round trips, label management, the folder lock, and crash safety under SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from anymask.annotations import Shape
from anymask.atomic import atomic_write_text
from anymask.errors import ProjectError
from anymask.project import ProjectStore, default_project_folder


def make_mask(seed: int, shape=(24, 32)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random(shape) < 0.3


def test_round_trip_and_reopen(tmp_path):
    folder = default_project_folder(tmp_path / "clip.mp4")
    assert folder.name == "clip.mp4.anymask"
    with ProjectStore.open(folder, media_path=tmp_path / "clip.mp4") as store:
        car = store.add_object("car")
        person = store.add_object("person")
        store.put_mask(
            0, car, make_mask(1), score=0.9, source="prompt", shape=Shape("car", [[0, 0], [5, 0], [5, 5]], group_id=car)
        )
        store.put_masks(1, [(car, make_mask(2), 0.8, "tracked", None), (person, make_mask(3), None, "tracked", None)])
        store.add_prompt(0, car, points=[[3, 4, 1], [10, 10, 0]], box=[1, 1, 20, 20])
    with ProjectStore.open(folder) as store:
        assert store.objects() == {1: "car", 2: "person"}  # ids start at 1
        assert [label.name for label in store.labels()] == ["car", "person"]
        assert np.array_equal(store.mask(0, car), make_mask(1))
        assert [m.object_id for m in store.masks(1)] == [1, 2] and store.masks(0)[0].source == "prompt"
        assert store.shapes(0)[car].points[1] == [5.0, 0.0]
        assert store.prompts(car)[0]["box"] == [1, 1, 20, 20]
        assert store.annotated_frames() == [0, 1] and store.annotated_frames(person) == [1]
        assert str(tmp_path / "clip.mp4") in store.get_meta("media_path")


def test_label_manager_operations(tmp_path):
    with ProjectStore.open(tmp_path / "p") as store:
        a, b, c = store.add_object("cat"), store.add_object("kitten"), store.add_object("dog")
        store.put_mask(0, c, make_mask(4))
        store.update_label("cat", color=(1, 2, 3), visible=False)
        store.rename_label("cat", "feline")
        assert store.objects()[a] == "feline"
        assert [(label.name, label.color, label.visible) for label in store.labels()][0] == ("feline", (1, 2, 3), False)
        store.rename_label("kitten", "feline")  # onto an existing class: merge
        assert store.objects() == {a: "feline", b: "feline", c: "dog"}
        assert [label.name for label in store.labels()] == ["feline", "dog"]
        store.delete_label("dog")
        assert c not in store.objects() and store.count_masks() == 0
        store.relabel_object(b, "tiger")
        assert store.objects()[b] == "tiger"


def test_remove_object_removes_its_masks_and_prompts(tmp_path):
    with ProjectStore.open(tmp_path / "p") as store:
        obj = store.add_object("car")
        store.put_mask(3, obj, make_mask(5))
        store.add_prompt(3, obj, points=[[1, 1, 1]])
        store.remove_object(obj)
        assert store.count_masks() == 0 and store.prompts() == []


def test_failed_transaction_changes_nothing(tmp_path):
    with ProjectStore.open(tmp_path / "p") as store:
        obj = store.add_object("car")
        with pytest.raises(ValueError):
            store.put_masks(0, [(obj, make_mask(1), None, "tracked", None), (obj, make_mask(2), None, "bogus", None)])
        assert store.count_masks() == 0


def test_second_process_gets_a_clear_error(tmp_path):
    folder = tmp_path / "p"
    store = ProjectStore.open(folder)
    code = f"from anymask.project import ProjectStore\nProjectStore.open({str(folder)!r})"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0 and "open in another anymask process" in result.stderr
    store.close()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_corrupt_database_is_a_project_error(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "project.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProjectError, match="not a readable anymask project"):
        ProjectStore.open(folder)


WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from anymask.project import ProjectStore
    store = ProjectStore.open(sys.argv[1])
    obj = store.add_object("car") if not store.objects() else 1
    for frame in range(100000):
        mask = np.random.default_rng(frame).random((48, 64)) < 0.3
        store.put_mask(frame, obj, mask, score=frame / 1000, source="tracked")
        print(frame, flush=True)
    """
)


@pytest.mark.slow
def test_kill_9_never_loses_a_confirmed_annotation(tmp_path):
    folder = tmp_path / "p"
    rng = random.Random(7)
    for trial in range(5):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE, text=True)
        confirmed = []
        stop_after = rng.randint(1, 120)
        while len(confirmed) < stop_after:
            line = child.stdout.readline()
            assert line, "writer stopped early"
            confirmed.append(int(line))
        time.sleep(rng.random() * 0.05)  # land the kill at a random point inside the next writes
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        with ProjectStore.open(folder) as store:
            assert store.integrity_check() == "ok"
            for frame in confirmed[-30:] + confirmed[:5]:
                expected = np.random.default_rng(frame).random((48, 64)) < 0.3
                assert np.array_equal(store.mask(frame, 1), expected), (trial, frame)
            assert set(confirmed) <= set(store.annotated_frames())


WRITE_FILE = textwrap.dedent(
    """
    import sys, json
    from anymask.atomic import atomic_write_text
    for i in range(100000):
        atomic_write_text(sys.argv[1], json.dumps({"i": i, "payload": "x" * 200000}))
        print(i, flush=True)
    """
)


def test_kill_9_during_atomic_writes_leaves_a_whole_file(tmp_path):
    target = tmp_path / "export.json"
    atomic_write_text(target, json.dumps({"i": -1, "payload": ""}))
    for _ in range(3):
        child = subprocess.Popen([sys.executable, "-c", WRITE_FILE, str(target)], stdout=subprocess.PIPE, text=True)
        for _ in range(random.randint(1, 5)):
            child.stdout.readline()
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        data = json.loads(target.read_text())  # never half-written
        assert data["i"] >= 0


def test_mask_sources(tmp_path):
    with ProjectStore.open(tmp_path / "p") as store:
        a, b = store.add_object("car"), store.add_object("person")
        store.put_masks(2, [(a, make_mask(1), None, "prompt", None), (b, make_mask(2), 0.5, "tracked", None)])
        assert store.mask_sources(2) == {a: "prompt", b: "tracked"} and store.mask_sources(3) == {}


def test_a_reader_thread_never_sees_half_a_transaction(tmp_path):
    """The GUI reads while tracking writes: another thread sees a frame's masks all at once or not at all."""
    import threading

    with ProjectStore.open(tmp_path / "p.anymask") as store:
        car, person = store.add_object("car"), store.add_object("person")
        half_written, looked = threading.Event(), threading.Event()
        seen: list[int] = []

        def reader() -> None:
            half_written.wait(10)
            seen.append(len(store.masks(5)))  # the other thread's transaction is open here
            looked.set()

        thread = threading.Thread(target=reader)
        thread.start()
        with store.transaction():
            store.put_mask(5, car, make_mask(1), score=None, source="tracked")
            assert len(store.masks(5)) == 1  # the writing thread sees its own change
            half_written.set()
            assert looked.wait(10)
        thread.join()
        assert seen == [0] and len(store.masks(5)) == 1
        store.put_mask(5, person, make_mask(2), score=None, source="tracked")
        reads = []
        worker = threading.Thread(target=lambda: reads.append(len(store.masks(5))))
        worker.start()
        worker.join()
        assert reads == [2]  # committed changes are visible to every thread
