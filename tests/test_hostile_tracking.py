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

from conftest import write_clip

pytestmark = pytest.mark.slow


def anymask(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "anymask.cli", *map(str, args)], capture_output=True, text=True, **kwargs
    )


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"objects": [{"id": 1, "label": "person", "frame": 0, "points": [[300, 200, 1]]}]}))
    return path


def test_an_undecodable_frame_stops_with_one_line_and_what_was_tracked_is_exported(
    media_dir, present_checkpoint, prompts, tmp_path
):
    frames = write_clip(media_dir, tmp_path / "frames", count=5, step=3)
    damaged = frames / "00003.jpg"
    damaged.write_bytes(damaged.read_bytes()[:200])  # a truncated JPEG
    result = anymask(
        "track",
        frames,
        "--prompts",
        prompts,
        "--out",
        tmp_path / "out",
        "--format",
        "coco",
        "--model",
        present_checkpoint,
        "--quiet",
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "00003.jpg" in result.stderr, result.stderr
    assert "the 3 frame(s) tracked before it are saved" in result.stdout and "coco was written to" in result.stdout
    document = json.loads((tmp_path / "out" / "coco" / "annotations.json").read_text())
    assert {a["image_id"] for a in document["annotations"]} <= {1, 2, 3} and document["annotations"]


def test_a_rerun_resumes_instead_of_duplicating_prompts(media_dir, present_checkpoint, prompts, tmp_path):
    frames = write_clip(media_dir, tmp_path / "frames", count=3, step=3)
    args = [
        "track",
        frames,
        "--prompts",
        prompts,
        "--out",
        tmp_path / "out",
        "--format",
        "mot",
        "--model",
        present_checkpoint,
    ]
    first = anymask(*args, "--quiet")
    assert first.returncode == 0, first.stderr
    gt = (tmp_path / "out" / "mot" / "frames" / "gt" / "gt.txt").read_text()
    again = anymask(*args)
    assert again.returncode == 0, again.stderr
    assert "already holds these prompts" in again.stdout and "over 0 frame(s)" in again.stdout
    with ProjectStore.open(tmp_path / "out" / "project") as store:
        assert len(store.prompts()) == 1 and list(store.objects()) == [1]
    assert (tmp_path / "out" / "mot" / "frames" / "gt" / "gt.txt").read_text() == gt


def test_a_killed_runs_spill_folder_is_removed_by_the_next_run(media_dir, present_checkpoint, prompts, tmp_path):
    frames = write_clip(media_dir, tmp_path / "frames", count=8, step=2)
    args = [
        "track",
        frames,
        "--prompts",
        prompts,
        "--out",
        tmp_path / "out",
        "--format",
        "coco",
        "--model",
        present_checkpoint,
    ]
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


def test_export_refuses_a_video_of_another_size(media_dir, present_checkpoint, prompts, tmp_path):
    frames = write_clip(media_dir, tmp_path / "frames", count=2, step=3)
    result = anymask(
        "track",
        frames,
        "--prompts",
        prompts,
        "--out",
        tmp_path / "out",
        "--format",
        "coco",
        "--model",
        present_checkpoint,
        "--quiet",
    )
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
