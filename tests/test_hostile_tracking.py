"""Tracking under damage: undecodable frames, reruns, killed runs' spill folders, a video that is not the project's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from anymask.project import ProjectStore

import kill_workflow
from conftest import write_clip
from kill_workflow import PHASES

pytestmark = pytest.mark.slow


def anymask(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "anymask.cli", *map(str, args)], capture_output=True, text=True, **kwargs
    )


def track_args(frames, prompts, out, checkpoint, format_name="coco") -> list:
    """`anymask track` of a clip with the test prompts and checkpoint."""
    return ["track", frames, "--prompts", prompts, "--out", out, "--format", format_name, "--model", checkpoint]


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"objects": [{"id": 1, "label": "person", "frame": 0, "points": [[300, 200, 1]]}]}))
    return path


def test_an_undecodable_frame_stops_with_one_line_and_what_was_tracked_is_exported(
    media_dir, edgetam_checkpoint, prompts, tmp_path
):
    frames = write_clip(media_dir, tmp_path / "frames", count=5, step=3)
    damaged = frames / "00003.jpg"
    damaged.write_bytes(damaged.read_bytes()[:200])  # a truncated JPEG
    result = anymask(*track_args(frames, prompts, tmp_path / "out", edgetam_checkpoint), "--quiet")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "00003.jpg" in result.stderr, result.stderr
    assert "the 3 frame(s) tracked before it are saved" in result.stdout and "coco was written to" in result.stdout
    document = json.loads((tmp_path / "out" / "coco" / "annotations" / "instances_default.json").read_text())
    assert {a["image_id"] for a in document["annotations"]} <= {1, 2, 3} and document["annotations"]


def test_a_rerun_resumes_instead_of_duplicating_prompts(media_dir, edgetam_checkpoint, prompts, tmp_path):
    frames = write_clip(media_dir, tmp_path / "frames", count=3, step=3)
    args = track_args(frames, prompts, tmp_path / "out", edgetam_checkpoint, "mot")
    first = anymask(*args, "--quiet")
    assert first.returncode == 0, first.stderr
    gt = (tmp_path / "out" / "mot" / "frames" / "gt" / "gt.txt").read_text()
    again = anymask(*args)
    assert again.returncode == 0, again.stderr
    assert "already holds these prompts" in again.stdout and "over 0 frame(s)" in again.stdout
    with ProjectStore.open(tmp_path / "out" / "project") as store:
        assert len(store.prompts()) == 1 and list(store.objects()) == [1]
    assert (tmp_path / "out" / "mot" / "frames" / "gt" / "gt.txt").read_text() == gt


def test_a_killed_runs_spill_folder_is_removed_by_the_next_run(media_dir, edgetam_checkpoint, prompts, tmp_path):
    frames = write_clip(media_dir, tmp_path / "frames", count=8, step=2)
    args = track_args(frames, prompts, tmp_path / "out", edgetam_checkpoint, "coco")
    cache = tmp_path / "out" / "project" / "cache"
    process = subprocess.Popen(
        [sys.executable, "-m", "anymask.cli", *map(str, args)], stdout=subprocess.PIPE, text=True
    )
    for line in process.stdout:  # progress lines: kill once tracking has begun
        if line.startswith("prompt 1/1"):
            break
    deadline = time.monotonic() + 300
    while not any(cache.glob("anymask-track-*/*.logits")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    left = list(cache.glob("anymask-track-*"))
    assert left and all(str(process.pid) in p.name for p in left)  # the spill stays in the project, not /tmp
    with ProjectStore.open(tmp_path / "out" / "project") as store:
        assert store.integrity_check() == "ok"
        saved = {frame for frame, *_ in store.presence()}
    result = anymask(*args, "--quiet")
    assert result.returncode == 0, result.stderr
    assert not any(p.exists() for p in left) and not list(cache.glob("anymask-track-*"))  # removed, and its own too
    assert f"over {8 - len(saved)} frame(s)" in result.stdout  # resumed after the frames saved before the kill


def test_export_refuses_a_video_of_another_size(media_dir, edgetam_checkpoint, prompts, tmp_path):
    frames = write_clip(media_dir, tmp_path / "frames", count=2, step=3)
    result = anymask(*track_args(frames, prompts, tmp_path / "out", edgetam_checkpoint), "--quiet")
    assert result.returncode == 0, result.stderr
    other = tmp_path / "other"
    other.mkdir()
    from PIL import Image

    for index in range(2):
        Image.new("RGB", (320, 240)).save(other / f"{index}.jpg")
    for format_name in ("coco", "davis", "mots"):
        result = anymask(
            "export",
            tmp_path / "out" / "project",
            "--format",
            format_name,
            "--out",
            tmp_path / format_name,
            "--media",
            other,
        )
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert "is 320x240 but the project's masks there are 768x576" in result.stderr
        assert not (tmp_path / format_name).exists()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB tmpfs where the machine lets us mount one (root on Linux); None elsewhere. It fills after 5 of
    the tracking test's frames (3 MB: after 8, 16 s more)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_while_tracking_says_what_is_saved_and_keeps_the_project(
    media_dir, edgetam_checkpoint, prompts, tmp_path, tiny_disk, monkeypatch, capsys
):
    from anymask.cli import main

    frames = write_clip(media_dir, tmp_path / "frames", count=8, step=2)
    project = (tiny_disk or tmp_path) / "project"
    if tiny_disk is None:  # no tmpfs here: the spill file's writes fail as a full disk's would
        import errno

        from anymask.tracking.memory import LogitStore

        real, calls = LogitStore.put, []

        def put(self, frame, logits):
            calls.append(frame)
            if len(calls) > 5:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(self, frame, logits)

        monkeypatch.setattr(LogitStore, "put", put)
    args = ["track", frames, "--prompts", prompts, "--out", tmp_path / "out", "--format", "coco", "--quiet"]
    code = main([*map(str, args), "--model", str(edgetam_checkpoint), "--project", str(project)])
    output = capsys.readouterr()
    assert code == 2 and output.err.count("\n") == 1 and "Traceback" not in output.err
    assert "the disk is full" in output.err, output.err  # a spill file's write or the store's, whichever fills it
    assert "No space left on device" in output.err or "database or disk is full" in output.err, output.err
    assert "frame(s) tracked before it are saved in" in output.out
    with ProjectStore.open(project) as store:
        assert store.integrity_check() == "ok" and len(store.prompts()) == 1
        saved = sorted({frame for frame, *_ in store.presence()})
    assert saved == list(range(len(saved))) and 0 < len(saved) < 8


def test_a_full_disk_when_prompting_starts_is_one_line_and_keeps_the_project(
    media_dir, edgetam_checkpoint, prompts, tmp_path, tiny_disk
):
    if tiny_disk is None:
        pytest.skip("no tmpfs here; the tracking test above patches the writes instead")
    frames = write_clip(media_dir, tmp_path / "frames", count=3, step=2)
    project = tiny_disk / "project"
    with ProjectStore.open(project, frames) as store:
        store.add_object("person", 7)
    filler = tiny_disk / "filler"
    with open(filler, "wb", buffering=0) as handle:  # fill what is left of the disk
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    result = anymask(*track_args(frames, prompts, tmp_path / "out", edgetam_checkpoint), "--project", project)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "the disk is full" in result.stderr, result.stderr
    filler.unlink()
    with ProjectStore.open(project) as store:
        assert store.integrity_check() == "ok" and store.objects() == {7: "person"}


def test_a_full_disk_during_export_leaves_no_partial_files(media_dir, tmp_path, tiny_disk):
    if tiny_disk is None:
        pytest.skip("no tmpfs here; tests/test_hostile_input.py patches the writes instead")
    from anymask.formats import Dataset, FrameInfo, export_dataset
    from anymask.media import open_source

    frames = write_clip(media_dir, tmp_path / "frames", count=20, step=2)
    source = open_source(frames)
    dataset = Dataset("clip", [FrameInfo(i, source.frame_name(i), 576, 768) for i in range(20)], [], {}, source)
    with pytest.raises(OSError, match="No space left"):
        export_dataset(dataset, "voc", tiny_disk / "voc", empty_frames=True)  # 20 JPEGs do not fit in 3 MB
    assert not any(tiny_disk.iterdir())


def test_twenty_random_kills_across_the_workflow_lose_nothing(media_dir, edgetam_checkpoint, tmp_path):
    """SIGKILL at random moments of prompting, tracking, undo/redo, label renames and exports: after each, the
    store is intact, every saved frame reads back, no export is partial, and the project reopens and tracks."""
    import random

    from anymask.formats.staging import STAGE_PREFIX
    from anymask.session import Session

    frames = write_clip(media_dir, tmp_path / "frames", count=3, step=3)
    project, out = tmp_path / "project", tmp_path / "out"
    rng = random.Random(11)
    killed_after = []
    forkserver = kill_workflow.context()
    for trial in range(20):
        phases, child_end = forkserver.Pipe(duplex=False)
        arguments = (str(frames), str(project), str(edgetam_checkpoint), str(out), child_end)
        child = forkserver.Process(target=kill_workflow.run, args=arguments)
        child.start()
        child_end.close()  # the child's copy is the only writer left: its death ends the pipe
        last = PHASES[trial % len(PHASES)]  # the kill lands in the phase after this one (rotating)
        while True:
            try:
                phase = phases.recv()
            except EOFError:
                pytest.fail(f"trial {trial}: the workflow stopped early (exit code {child.exitcode})")
            if phase == last:
                break
        killed_after.append(last)
        time.sleep(rng.random() * 0.5)
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        phases.close()
        with ProjectStore.open(project) as store:
            assert store.integrity_check() == "ok", trial
            for frame in store.annotated_frames():
                for item in store.masks(frame):
                    assert store.mask(frame, item.object_id).shape == (576, 768)
        exported = [p for p in out.rglob("*") if STAGE_PREFIX not in str(p)]  # a killed stage is not the export
        assert not [p for p in exported if p.name.endswith(".tmp")]
        if (out / "coco").exists():  # an export is there whole or not at all
            json.loads((out / "coco" / "annotations" / "instances_default.json").read_text())
    assert set(killed_after) == set(PHASES)
    with Session(frames, project_folder=project, model=edgetam_checkpoint, precision="fp32") as session:
        assert session.store.objects()
        session.track("forward", start=0, resume=True)  # tracking resumes after all that
        saved = {frame for frame, *_ in session.store.presence()}
        assert set(range(3)) <= saved
        session.export("coco", out / "coco")  # and the next export clears the stages killed exports left
        assert not list(tmp_path.rglob(f"{STAGE_PREFIX}*"))
        assert json.loads((out / "coco" / "annotations" / "instances_default.json").read_text())["annotations"]
