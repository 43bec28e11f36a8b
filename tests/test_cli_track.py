"""`anymask track` and `anymask export`: a real run, and one-line errors for each bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from anymask.cli import EXPORT_FORMATS, OUTPUT_MODES
from anymask.formats import EXPORT_FORMATS as FORMATS_IN_LIBRARY
from anymask.formats import OUTPUT_MODES as MODES_IN_LIBRARY

from conftest import write_clip


def anymask(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "anymask.cli", *map(str, args)], capture_output=True, text=True, env=env, timeout=600
    )


@pytest.fixture(scope="module")
def clip(media_dir, tmp_path_factory):
    return write_clip(media_dir, tmp_path_factory.mktemp("clip"), count=2, step=4, name="f{}.jpg")


def write_prompts(path, objects):
    path.write_text(json.dumps({"objects": objects}))
    return path


def one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_cli_lists_match_the_library():
    assert tuple(FORMATS_IN_LIBRARY) == EXPORT_FORMATS and tuple(MODES_IN_LIBRARY) == OUTPUT_MODES


@pytest.mark.slow
def test_track_then_export(clip, edgetam_checkpoint, tmp_path):
    prompts = write_prompts(
        tmp_path / "prompts.json",
        [
            {"id": 1, "label": "person", "frame": 0, "points": [[300, 200, 1], [100, 100, 0]]},
            {"id": 4, "label": "car", "frame": 0, "box": [500, 300, 650, 500]},
        ],
    )
    result = anymask(
        "track",
        clip,
        "--model",
        edgetam_checkpoint,
        "--prompts",
        prompts,
        "--out",
        tmp_path / "out",
        "--format",
        "coco",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()  # progress before tracking starts: the model, then each prompt
    assert lines[0].startswith(f"loading model {edgetam_checkpoint}") and "precision " in lines[1]
    # EdgeTAM already: no tip pointing to it (SAM 2's is tested in test_precision.py and by `anymask bench`)
    assert lines[2:4] == ["prompt 1/2: object 1 on frame 0", "prompt 2/2: object 4 on frame 0"]
    document = json.loads((tmp_path / "out" / "coco" / "annotations" / "instances_default.json").read_text())
    assert {c["name"] for c in document["categories"]} == {"person", "car"}
    assert {a["track_id"] for a in document["annotations"]} == {1, 4}
    result = anymask("export", tmp_path / "out" / "project", "--format", "yolo-seg", "--out", tmp_path / "yolo")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "yolo" / "data.yaml").is_file()


@pytest.mark.parametrize(
    "objects, fragments",
    [
        ("{broken", ["invalid JSON"]),
        ([{"id": 1, "frame": 0, "points": [[900, 10, 1]]}], ["objects[0]", "outside the image"]),
        ([{"id": 1, "frame": 9, "points": [[10, 10, 1]]}], ["objects[0].frame", "outside the video"]),
        ([{"id": "a", "points": [[10, 10, 1]]}], ['integer "id"']),
        ([{"id": 1, "points": [[10, 10, 5]]}], ["points"]),
    ],
)
def test_bad_prompts(clip, edgetam_checkpoint, tmp_path, objects, fragments):
    path = tmp_path / "prompts.json"
    path.write_text(objects if isinstance(objects, str) else json.dumps({"objects": objects}))
    result = anymask(
        "track", clip, "--model", edgetam_checkpoint, "--prompts", path, "--out", tmp_path / "out", "--format", "mot"
    )
    one_line_error(result, str(path), *fragments)


def test_bad_media_format_and_weights(clip, edgetam_checkpoint, tmp_path):
    prompts = write_prompts(tmp_path / "p.json", [{"id": 1, "points": [[10, 10, 1]]}])
    one_line_error(
        anymask(
            "track",
            tmp_path / "missing.mp4",
            "--model",
            edgetam_checkpoint,
            "--prompts",
            prompts,
            "--out",
            tmp_path / "o",
            "--format",
            "coco",
        ),
        "missing.mp4",
    )
    bad_format = anymask("track", clip, "--prompts", prompts, "--out", tmp_path / "o", "--format", "pascal")
    assert bad_format.returncode == 2 and "invalid choice" in bad_format.stderr
    env = dict(os.environ, ANYMASK_HOME=str(tmp_path / "home"), HF_HUB_CACHE=str(tmp_path / "hf"), ANYMASK_OFFLINE="1")
    one_line_error(
        anymask(
            "track",
            clip,
            "--model",
            "sam2.1-tiny",
            "--prompts",
            prompts,
            "--out",
            tmp_path / "o",
            "--format",
            "coco",
            env=env,
        ),
        "sam2.1_hiera_tiny.pt",
    )
    one_line_error(anymask("export", tmp_path, "--format", "coco", "--out", tmp_path / "e"), "not an anymask project")


@pytest.mark.slow
def test_ctrl_c_keeps_every_tracked_frame(media_dir, edgetam_checkpoint, tmp_path):
    import signal
    import sqlite3
    import time

    clip = write_clip(media_dir, tmp_path / "long", count=30, step=1)
    prompts = write_prompts(tmp_path / "p.json", [{"id": 1, "label": "person", "points": [[300, 200, 1]]}])
    out = tmp_path / "out"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "anymask.cli",
            "track",
            str(clip),
            "--model",
            str(edgetam_checkpoint),
            "--prompts",
            str(prompts),
            "--out",
            str(out),
            "--format",
            "coco",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a suite started in the background (`cmd &` in a script) ignores SIGINT, and children inherit
        # that: Python then installs no KeyboardInterrupt handler and the run would never see Ctrl+C
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    database = out / "project" / "project.sqlite"

    def saved_frames() -> int:
        if not database.exists():
            return 0
        try:
            db = sqlite3.connect(database, timeout=1)  # a reader beside the writer (WAL)
            try:
                return db.execute("SELECT COUNT(DISTINCT frame) FROM masks").fetchone()[0]
            finally:
                db.close()
        except sqlite3.OperationalError:
            return 0

    deadline = time.time() + 300
    while saved_frames() < 3 and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert "every tracked frame so far is saved in" in stdout + stderr and "Traceback" not in stderr
    from anymask.project import ProjectStore

    with ProjectStore.open(out / "project") as store:
        frames = store.annotated_frames()
    assert 3 <= len(frames) < 30 and frames == list(range(len(frames)))


@pytest.mark.slow
def test_track_a_frame_range_then_export_with_a_tolerance(media_dir, edgetam_checkpoint, tmp_path):
    clip = write_clip(media_dir, tmp_path / "clip3", count=3, step=4)
    prompts = write_prompts(tmp_path / "p.json", [{"id": 3, "label": "person", "frame": 0, "points": [[300, 200, 1]]}])
    result = anymask(
        "track",
        clip,
        "--model",
        edgetam_checkpoint,
        "--prompts",
        prompts,
        "--out",
        tmp_path / "out",
        "--format",
        "mot",
        "--end",
        "1",
        "--tolerance",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert "tracked 1 object(s) over 2 frame(s)" in result.stdout.splitlines()[-1]
    frames = {
        int(line.split(",")[0])
        for line in (tmp_path / "out" / "mot" / "clip3" / "gt" / "gt.txt").read_text().splitlines()
    }
    assert frames == {1, 2}  # MOT frames are 1-based: video frames 0 and 1, not 2
    sizes = {}
    for tolerance in ("0", "6"):
        out = tmp_path / f"yolo{tolerance}"
        done = anymask(
            "export", tmp_path / "out" / "project", "--format", "yolo-seg", "--out", out, "--tolerance", tolerance
        )
        assert done.returncode == 0, done.stderr
        sizes[tolerance] = sum(len(p.read_text().split()) for p in out.rglob("*.txt"))
    assert sizes["6"] < sizes["0"]


def test_debug_after_the_command_and_defaults_in_help(tmp_path, capsys):
    from anymask.cli import main
    from anymask.errors import AnymaskError

    prompts = write_prompts(tmp_path / "p.json", [{"id": 1, "points": [[10, 10, 1]]}])
    with pytest.raises(AnymaskError, match="missing.mp4"):
        main(
            [
                "track",
                str(tmp_path / "missing.mp4"),
                "--prompts",
                str(prompts),
                "--out",
                str(tmp_path / "o"),
                "--format",
                "coco",
                "--debug",
            ]
        )
    assert (
        main(
            [
                "track",
                str(tmp_path / "missing.mp4"),
                "--prompts",
                str(prompts),
                "--out",
                str(tmp_path / "o"),
                "--format",
                "coco",
            ]
        )
        == 2
    )
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["track", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # help text wraps lines
    assert "(default: forward)" in text and "(default: auto)" in text and "(default: sam2.1-tiny)" in text
