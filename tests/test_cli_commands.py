"""`anymask segment`, `bench`, `export` to every format, and one-line errors, run in-process through main()."""

from __future__ import annotations

import json
import shutil

import pytest

from anymask.cli import EXPORT_FORMATS, main


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(result, *fragments):
    code, _, err = result
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


# one xdist worker runs the whole module, so its expensive module fixtures run once (scripts/test.sh: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("segmented-photos")


@pytest.fixture(scope="module")
def photos(media_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for name in ("fruits.jpg", "building.jpg"):
        shutil.copy(media_dir / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def segmented(photos, edgetam_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("segment")
    prompts = out / "prompts.json"
    prompts.write_text(
        json.dumps(
            {
                "objects": [
                    {"image": "fruits.jpg", "label": "apple", "points": [[200, 200, 1], [50, 50, 0]]},
                    {"image": "building.jpg", "label": "window", "box": [100, 100, 300, 250]},
                    {"image": "fruits.jpg", "label": "pear", "box": [300, 100, 450, 300]},
                ]
            }
        )
    )
    assert (
        main(
            [
                "segment",
                str(photos),
                "--model",
                str(edgetam_checkpoint),
                "--prompts",
                str(prompts),
                "--out",
                str(out),
                "--format",
                "coco",
                "--quiet",
            ]
        )
        == 0
    )
    return out


def test_segment_folder_to_coco(segmented):
    document = json.loads((segmented / "coco" / "annotations" / "instances_default.json").read_text())
    assert [i["file_name"] for i in document["images"]] == ["building.jpg", "fruits.jpg"]
    assert sorted(c["name"] for c in document["categories"]) == ["apple", "pear", "window"]
    by_image = {i["id"]: i["file_name"] for i in document["images"]}
    assert sorted(by_image[a["image_id"]] for a in document["annotations"]) == [
        "building.jpg",
        "fruits.jpg",
        "fruits.jpg",
    ]


@pytest.mark.parametrize("format_name", EXPORT_FORMATS)
def test_export_every_format(segmented, tmp_path, capsys, format_name):
    code, out, err = run(
        capsys, "export", segmented / "project", "--format", format_name, "--out", tmp_path / format_name
    )
    assert code == 0, err
    assert f"{format_name} written to" in out and any((tmp_path / format_name).rglob("*"))


def test_segment_bad_inputs(photos, own_checkpoint, tmp_path, capsys):
    def segment(objects, source=photos):
        path = tmp_path / "p.json"
        path.write_text(json.dumps({"objects": objects}))
        return run(
            capsys,
            "segment",
            source,
            "--model",
            own_checkpoint,
            "--prompts",
            path,
            "--out",
            tmp_path / "o",
            "--format",
            "yolo-seg",
            "--quiet",
        )

    one_line_error(segment([{"image": "cat.jpg", "points": [[1, 1, 1]]}]), "objects[0].image", "'cat.jpg' is not among")
    one_line_error(segment([{"points": [[1, 1, 1]]}]), "objects[0]", 'name its "image"')
    one_line_error(segment([{"image": "fruits.jpg", "points": [[5000, 1, 1]]}]), "objects[0]", "outside the image")
    one_line_error(segment([{"image": "fruits.jpg", "box": [1, 2]}]), "objects[0].box")
    one_line_error(segment([{"points": [[1, 1, 1]]}], source=tmp_path / "none"), "none", "no such file")


def test_track_rejects_image_names_and_a_damaged_video(media_dir, own_checkpoint, tmp_path, capsys):
    prompts = tmp_path / "p.json"
    prompts.write_text(json.dumps({"objects": [{"id": 1, "image": "a.jpg", "points": [[1, 1, 1]]}]}))
    one_line_error(
        run(
            capsys, "track", media_dir / "vtest.avi", "--prompts", prompts, "--out", tmp_path / "o", "--format", "coco"
        ),
        '"image" is for anymask segment',
    )
    damaged = tmp_path / "damaged.avi"
    damaged.write_bytes(b"RIFF" + bytes(5000))
    prompts.write_text(json.dumps({"objects": [{"id": 1, "points": [[1, 1, 1]]}]}))
    one_line_error(
        run(
            capsys,
            "track",
            damaged,
            "--model",
            own_checkpoint,
            "--prompts",
            prompts,
            "--out",
            tmp_path / "o",
            "--format",
            "coco",
        ),
        "damaged.avi",
    )


@pytest.mark.slow
def test_bench_with_random_weights(capsys, monkeypatch):
    import torch

    from anymask import bench

    printed = []  # each figure must be printed as soon as it is measured, not at the end
    original = bench.bench_tracking

    def tracking(*args):
        printed.append(capsys.readouterr().out)
        return original(*args)

    monkeypatch.setattr(bench, "bench_tracking", tracking)
    code, out, err = run(capsys, "bench", "--random-weights", "sam2.1-tiny", "--frames", "1", "--repeats", "1")
    assert code == 0, err
    assert "embed an image (set_image):" in printed[0] and "click -> mask:" in printed[0]
    assert f"CPU capability {torch.backends.cpu.get_cpu_capability()}" in printed[0]
    assert "precision fp32 (auto): " in printed[0] or "precision bf16 (auto): " in printed[0]
    assert ("tip: " in printed[0] and "--model edgetam" in printed[0]) == ("precision fp32 (auto): " in printed[0])
    assert "tracking, one object:" in out and "s/frame" in out


def test_gui_help_and_unknown_command(capsys):
    with pytest.raises(SystemExit):
        main(["gui", "--help"])
    assert "a video, frame folder or image folder to open" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["frobnicate"])
