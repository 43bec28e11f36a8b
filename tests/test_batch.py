"""anymask batch: manifests, resume, and real Ray runs (local cluster) against `anymask track` (detection
seeds: test_batch_seeds.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from anymask.batch import BatchOptions, read_manifest
from anymask.cli import main
from anymask.errors import AnnotationFormatError
from anymask.session.runs import resume_passes

from conftest import THREADS, write_clip


def anymask(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "anymask.cli", *map(str, args)], capture_output=True, text=True, env=env, timeout=900
    )


def write_video(source_path: Path, path: Path, count: int, step: int = 1) -> Path:
    """An H.264 clip of `count` real frames (every `step`-th) of a sample video."""
    from anymask.media import open_source

    with open_source(source_path) as source, av.open(str(path), "w") as out:
        height, width = source.frame_size(0)
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width // 2 * 2, height // 2 * 2, "yuv420p"
        for index in range(count):
            picture = np.ascontiguousarray(source.frame(index * step)[: stream.height, : stream.width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


# manifests ----------------------------------------------------------------------------------------------
def test_manifest_json_jsonl_and_folder(tmp_path):
    objects = {"objects": [{"id": 1, "frame": 0, "box": [1, 2, 30, 40]}]}
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.mp4").write_bytes(b"")
    document = {
        "videos": [
            {"path": "clips/a.mp4", "prompts": objects, "formats": ["mot"], "end": 5},
            {"path": "clips/a.mp4", "seeds": {"format": "coco", "file": "dets.json", "classes": ["car"]}},
        ]
    }
    (tmp_path / "m.json").write_text(json.dumps(document))
    first, second = read_manifest(tmp_path / "m.json")
    assert first.path == (tmp_path / "clips" / "a.mp4").resolve() and first.name == "a" and second.name == "a-2"
    assert first.formats == ("mot",) and first.end == 5 and first.prompts[0]["box"] == [1, 2, 30, 40]
    assert second.seeds.file == tmp_path / "dets.json" and second.seeds.classes == ("car",)
    assert second.seeds.frames == (0,) and second.seeds.min_score == 0.5
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(v) for v in document["videos"]) + "\n\n")
    assert [e.name for e in read_manifest(tmp_path / "m.jsonl")] == ["a", "a-2"]
    # a folder: each video with <name>.prompts.json beside it (a frame folder counts as a video)
    (tmp_path / "clips" / "a.prompts.json").write_text(json.dumps(objects))
    (tmp_path / "clips" / "frames").mkdir()
    (tmp_path / "clips" / "frames.prompts.json").write_text(json.dumps(objects))
    (tmp_path / "clips" / "unprompted.mp4").write_bytes(b"")
    assert [(e.name, e.path.name) for e in read_manifest(tmp_path / "clips")] == [("a", "a.mp4"), ("frames", "frames")]


def test_the_fingerprint_follows_inputs_not_threads(tmp_path):
    (tmp_path / "m.json").write_text(
        json.dumps({"videos": [{"path": "a.mp4", "prompts": {"objects": [{"id": 1, "box": [1, 1, 5, 5]}]}}]})
    )
    (entry,) = read_manifest(tmp_path / "m.json")
    options = BatchOptions(formats=("coco",))
    assert entry.fingerprint(options.result_settings()) == entry.fingerprint(BatchOptions(threads=4).result_settings())
    assert entry.fingerprint(options.result_settings()) != entry.fingerprint(BatchOptions(end=3).result_settings())


@pytest.mark.parametrize(
    "document, fragments",
    [
        ("{", ["m.json", "invalid JSON at line 1"]),
        ('{"clips": []}', ['expected {"videos": [...]}']),
        ('{"videos": []}', ["lists no videos"]),
        ('{"videos": [{"path": "a.mp4"}]}', ["videos[0]", 'either "prompts" or "seeds"']),
        (
            '{"videos": [{"path": "a.mp4", "prompts": {"objects": [{"id": 1}]}}]}',
            ["videos[0].prompts", "points or a box"],
        ),
        (
            '{"videos": [{"path": "a.mp4", "seeds": {"format": "voc", "file": "x"}}]}',
            ["seeds.format", "coco, yolo, mot, label-studio"],
        ),
        ('{"videos": [{"path": "a.mp4", "prompts": "none.json"}]}', ["none.json", "not found"]),
        (
            '{"videos": [{"path": "a.mp4", "seeds": {"format": "mot", "file": "d.txt"}, "direction": "up"}]}',
            ["direction"],
        ),
        (
            '{"videos": [{"path": "a.mp4", "seeds": {"format": "mot", "file": "d.txt"}, "formats": ["png"]}]}',
            ["formats"],
        ),
        ('{"videos": [{"path": 3, "seeds": {}}]}', ["videos[0].path"]),
        ('{"videos": [{"path": "\\u0000"}]}', ["videos[0].path", "NUL"]),  # found by test_fuzz.py
        ('{"videos": [{"path": "a.mp4", "prompts": "p\\u0000.json"}]}', ["videos[0].prompts", "NUL"]),
        ('{"videos": [{"path": "a.mp4", "seeds": {"format": "mot", "file": "\\u0000"}}]}', ["seeds.file", "NUL"]),
    ],
)
def test_bad_manifests_get_one_line(tmp_path, document, fragments):
    (tmp_path / "m.json").write_text(document)
    with pytest.raises(AnnotationFormatError) as error:
        read_manifest(tmp_path / "m.json")
    assert "\n" not in str(error.value)
    for fragment in fragments:
        assert fragment in str(error.value)


# resume ---------------------------------------------------------------------------------------------------
class PresenceStore:
    def __init__(self, rows):
        self.rows = rows

    def presence(self):
        return self.rows


def test_resume_skips_saved_frames_and_restores_the_last_six():
    saved = [(f, o, 1.0, 1.0) for f in range(0, 9) for o in (1, 2)] + [(9, 1, 1.0, 1.0)]  # frame 9: object 2 missing
    plan = resume_passes(PresenceStore(saved), [(False, 0, 20), (True, 0, 0)], {1: "a", 2: "b"})
    assert plan == [(False, 9, 20, [3, 4, 5, 6, 7, 8])]  # the backward pass (frame 0 alone) is already saved
    assert resume_passes(PresenceStore([]), [(True, 5, 0)], {1: "a"}) == [(True, 5, 0, [])]


# real Ray runs ----------------------------------------------------------------------------------------------
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}  # `anymask track` with the threads of a batch task


@pytest.fixture(scope="module")
def collection(media_dir, tmp_path_factory):
    """Three short real clips of 2 frames (an H.264 file with prompts, a frame folder with COCO seeds, an H.264
    file with YOLO seeds), a damaged video, the manifest, and the prompts `anymask track` needs for the same
    objects."""
    root = tmp_path_factory.mktemp("collection")
    street = write_video(media_dir / "vtest.avi", root / "street.mp4", count=2, step=5)
    folder = write_clip(media_dir, root / "frames", count=2, step=7, name="img{:03d}.jpg")
    tree = write_video(media_dir / "tree.avi", root / "tree.mp4", count=2, step=4)
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(3000))
    street_prompts = {"objects": [{"id": 1, "label": "person", "frame": 0, "points": [[300, 200, 1]]}]}
    street_prompts["objects"].append({"id": 2, "label": "car", "frame": 0, "box": [500, 300, 650, 500]})
    coco = {
        "images": [{"id": 1, "file_name": "img000.jpg"}, {"id": 2, "file_name": "img001.jpg"}],
        "categories": [{"id": 3, "name": "person"}],
        "annotations": [
            {"image_id": 1, "category_id": 3, "bbox": [100, 150, 60, 120], "score": 0.9},
            {"image_id": 1, "category_id": 3, "bbox": [400, 150, 60, 120], "score": 0.1},
            {"image_id": 2, "category_id": 3, "bbox": [400, 150, 60, 120], "score": 0.9},
        ],
    }
    (root / "dets.json").write_text(json.dumps(coco))
    (root / "yolo").mkdir()
    (root / "yolo" / "classes.txt").write_text("tree\n")
    (root / "yolo" / "000000.txt").write_text("0 0.5 0.5 0.4 0.6 0.95\n")
    height, width = av.open(str(tree)).streams.video[0].height, av.open(str(tree)).streams.video[0].width
    manifest = {
        "videos": [
            {"path": "street.mp4", "prompts": street_prompts},
            {"path": "frames", "seeds": {"format": "coco", "file": "dets.json"}},
            {"path": "tree.mp4", "seeds": {"format": "yolo", "file": "yolo"}, "formats": ["davis"]},
            {"path": "broken.mp4", "prompts": street_prompts},
        ]
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    box = [0.3 * width, 0.2 * height, 0.7 * width, 0.8 * height]
    single = {
        "street": (street, street_prompts, ["coco", "mot"]),
        "frames": (
            folder,
            {"objects": [{"id": 1, "label": "person", "frame": 0, "box": [100, 150, 160, 270]}]},
            ["coco", "mot"],
        ),
        "tree": (tree, {"objects": [{"id": 1, "label": "tree", "frame": 0, "box": box}]}, ["davis"]),
    }
    return root, single


def read_outputs(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_batch_equals_anymask_track_per_video_and_reruns_skip(collection, edgetam_checkpoint, tmp_path):
    root, single = collection
    model = ["--model", edgetam_checkpoint, "--precision", "fp32"]
    out = tmp_path / "batch"
    result = anymask("batch", root / "manifest.json", "--out", out, "--format", "coco", "mot", "--workers", "2", *model)
    assert result.returncode == 1, result.stderr  # one video failed
    assert "3 of 4 video(s) done (0 already done before), 1 failed" in result.stdout
    summary = {Path(v["path"]).name: v for v in json.loads((out / "summary.json").read_text())["videos"]}
    assert [summary[n]["status"] for n in ("street.mp4", "frames", "tree.mp4", "broken.mp4")] == ["done"] * 3 + [
        "failed"
    ]
    assert "broken.mp4" in summary["broken.mp4"]["error"] and "\n" not in summary["broken.mp4"]["error"]
    assert (summary["street.mp4"]["frames"], summary["street.mp4"]["objects"]) == (2, 2)
    assert summary["frames"]["objects"] == 1 and summary["tree.mp4"]["objects"] == 1  # the 0.1 detection dropped
    for name, (media, prompts, formats) in single.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(prompts))
        alone = tmp_path / "single" / name
        args = ["track", media, "--prompts", tmp_path / f"{name}.json", "--out", alone, "--format", formats[0]]
        result = anymask(*args, *model, "--quiet", env=ONE_THREAD)
        assert result.returncode == 0, result.stderr
        for format_name in formats[1:]:  # in this process: an export computes nothing a thread count changes
            export = ["export", alone / "project", "--format", format_name, "--out", alone / format_name]
            assert main([str(arg) for arg in export]) == 0
        for format_name in formats:
            assert read_outputs(out / name / format_name) == read_outputs(alone / format_name), (name, format_name)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and "broken" not in str(p)}
    rerun = anymask("batch", root / "manifest.json", "--out", out, "--format", "coco", "mot", *model)
    assert rerun.returncode == 1 and "(3 already done before), 1 failed" in rerun.stdout, rerun.stdout
    assert "skipped street: 2 frame(s), 2 object(s)" in rerun.stdout
    assert {p: p.stat().st_mtime_ns for p in stamps if p.name != "summary.json"} == {
        p: t for p, t in stamps.items() if p.name != "summary.json"
    }


@pytest.fixture
def ray_on_our_cores():
    """A local Ray cluster with this pytest worker's share of the cores, which a batch run joins instead of
    starting one on all of them. On 2 cores shared by 2 pytest workers, a task's 2 OpenMP threads beside
    the other worker's tests took 2-3x as long as one thread (129 against 64-66 s for this test's run)."""
    import ray

    from anymask.batch.runner import _start_ray

    _start_ray(ray, None, cpus=THREADS)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_a_killed_worker_is_retried_and_resumes_where_its_frames_stop(
    media_dir, edgetam_checkpoint, tmp_path, ray_on_our_cores
):
    from anymask.batch import run
    from anymask.project import ProjectStore

    write_video(media_dir / "vtest.avi", tmp_path / "walk.mp4", count=8, step=3)
    prompts = {"objects": [{"id": 1, "label": "person", "frame": 0, "points": [[300, 200, 1]]}]}
    (tmp_path / "m.json").write_text(json.dumps({"videos": [{"path": "walk.mp4", "prompts": prompts}]}))
    options = BatchOptions(model=str(edgetam_checkpoint), precision="fp32", formats=("mot",))
    killed = {}

    def kill_once(event):
        if not killed and event["done"] >= 4:
            killed.update(pid=event["pid"], done=event["done"])
            os.kill(event["pid"], signal.SIGKILL)

    summary = run(tmp_path / "m.json", tmp_path / "out", options, workers=1, on_event=kill_once)
    (video,) = summary.videos
    assert killed and video.status == "done", video
    assert video.frames == 8 and (tmp_path / "out" / "walk" / "mot" / "walk" / "gt" / "gt.txt").is_file()
    assert video.resumed_from >= killed["done"]  # the frames saved before the kill were found ...
    assert video.tracked <= 8 - killed["done"]  # ... and not tracked again
    with ProjectStore.open(tmp_path / "out" / "walk" / "project") as store:
        assert store.integrity_check() == "ok" and len(store.prompts()) == 1  # prompts applied once
        assert sorted({f for f, *_ in store.presence()}) == list(range(8))
    again = run(tmp_path / "m.json", tmp_path / "out", options)
    assert [v.status for v in again.videos] == ["skipped"]


def test_a_project_cut_off_while_prompting_is_redone_and_a_whole_one_kept(media_dir, edgetam_checkpoint, tmp_path):
    """The project keeps the digest of the prompts it holds (as anymask track does): objects without it
    mean a run stopped while applying them, so the job starts that video's project again."""
    from anymask.batch.job import _open
    from anymask.session.prompt_file import APPLIED_PROMPTS_KEY, apply_prompts_once

    write_clip(media_dir, tmp_path / "clip", 3, 3)
    prompts = {
        "objects": [
            {"id": 1, "label": "a", "frame": 0, "points": [[300, 200, 1]]},
            {"id": 2, "label": "b", "frame": 0, "points": [[500, 300, 1]]},
        ]
    }
    (tmp_path / "m.json").write_text(json.dumps({"videos": [{"path": "clip", "prompts": prompts}]}))
    (entry,) = read_manifest(tmp_path / "m.json")
    options = BatchOptions(model=str(edgetam_checkpoint), precision="fp32")
    project = tmp_path / "out" / "project"
    session, entries = _open(entry, options, project, "f1")
    with session:
        session.add_point(300, 200)
        session.finish_object("a")  # the first prompt applied, then the worker died
    session, entries = _open(entry, options, project, "f1")
    with session:
        assert session.store.objects() == {} and len(entries) == 2  # redone from scratch
        assert apply_prompts_once(session, entries) and session.store.get_meta(APPLIED_PROMPTS_KEY)
    session, entries = _open(entry, options, project, "f1")
    with session:
        assert session.store.objects() == {1: "a", 2: "b"}  # complete: kept
        assert not apply_prompts_once(session, entries)


def test_without_ray_the_command_says_how_to_install_it(tmp_path):
    code = "import sys; sys.modules['ray'] = None; from anymask.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", code, "batch", tmp_path / "m.json", "--out", tmp_path / "out"],
        capture_output=True,
        text=True,
    )
    assert (
        result.returncode == 2
        and result.stderr == "anymask: error: batch runs need Ray: pip install 'anymask[batch]'\n"
    )
