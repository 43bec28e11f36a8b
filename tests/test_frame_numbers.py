"""X-AnyLabeling's labels of a video's extracted frames (frame_00012.jpg) onto the video's own frames."""

from __future__ import annotations

import pytest

from anymask.annotations.label_file import LabelFile, write_label_file
from anymask.annotations.shapes import Shape
from anymask.formats import FrameInfo, import_annotations

from import_support import refused, write

VIDEO = [FrameInfo(i, f"clip_{i:06d}.jpg", 48, 64) for i in range(20)]


def _labels(folder, numbers, images=0, size=(48, 64), prefix="frame_"):
    """Label files for `numbers` and `images` extracted frame images (frame_00000.jpg, ...) beside them."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(images):
        (folder / f"{prefix}{n:05d}.jpg").write_bytes(b"a picture")
    for n in numbers:
        box = Shape("car", [[2, 2], [10, 2], [10, 8], [2, 8]], "polygon", group_id=1)
        write_label_file(LabelFile([box], f"{prefix}{n:05d}.jpg", *size), folder / f"{prefix}{n:05d}.json")
    return folder


@pytest.mark.parametrize(
    ("images", "numbers", "frames", "said"),
    [
        (20, [3, 12], [3, 12], "frame_00003.jpg -> frame 3; 20 frame images found, every frame"),
        (7, [0, 4, 6], [0, 12, 18], "frame_00000.jpg -> frame 0; 7 frame images found, one frame in 3"),
        (0, [5], [5], "no frame images found, so every frame of the video was assumed"),
    ],
)
def test_extracted_frames_land_on_the_frames_they_came_from(tmp_path, images, numbers, frames, said):
    folder = _labels(tmp_path / "clip", numbers, images)
    imported = import_annotations("xanylabeling", folder, VIDEO)
    assert sorted(imported.instances) == frames
    assert any(said in note for note in imported.notes), imported.notes


def test_extracted_frames_that_do_not_fit_the_video_are_refused(tmp_path):
    refused("xanylabeling", _labels(tmp_path / "a", [4], images=13), VIDEO, "neither every frame nor every")
    refused("xanylabeling", _labels(tmp_path / "b", [25]), VIDEO, "would be frame 25, past this video's 20 frames")
    refused("xanylabeling", _labels(tmp_path / "c", [2], size=(40, 64)), VIDEO, "its image is 64x40 but frame 2")


def test_names_of_the_media_still_come_first(tmp_path):
    folder = _labels(tmp_path / "clip", [3], images=20)
    write_label_file(LabelFile([], "clip_000007.jpg", 48, 64), folder / "clip_000007.json")
    refused("xanylabeling", folder, VIDEO, "'frame_00003.jpg' is not a frame of this video or folder")


def test_anymask_import_of_x_anylabeling_labels_of_every_5th_frame_of_vtest(media_dir, tmp_path, capsys):
    from anymask.cli import main
    from anymask.project import ProjectStore

    folder = _labels(tmp_path / "vtest", [0, 10, 158], images=159, size=(576, 768))  # 795 frames, interval 5
    project = tmp_path / "project"
    assert main(["import", str(folder), "--media", str(media_dir / "vtest.avi"), "--project", str(project)]) == 0
    said = capsys.readouterr().out
    assert "(read as xanylabeling)" in said and "frame_00010.jpg" not in said and "one frame in 5" in said
    with ProjectStore.open(project) as store:
        assert store.annotated_frames() == [0, 50, 790]


def test_cvat_video_task_exports_name_frames_frame_000012(tmp_path):
    """CVAT's COCO, YOLO 1.1 and VOC exports of a video task name its frames frame_%06d (.PNG): onto the video."""
    import json

    coco = {
        "images": [{"id": 1, "file_name": "frame_000003.PNG", "height": 48, "width": 64}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 8, 6], "segmentation": []}],
        "categories": [{"id": 1, "name": "car"}],
    }
    write(tmp_path / "coco" / "annotations" / "instances_default.json", json.dumps(coco))
    write(tmp_path / "yolo" / "obj.names", "car\n")
    write(tmp_path / "yolo" / "obj_train_data" / "frame_000002.txt", "0 0.5 0.5 0.25 0.25\n")
    voc = (
        "<annotation><filename>frame_000004.PNG</filename><size><width>64</width><height>48</height></size>"
        "<object><name>car</name><bndbox><xmin>3</xmin><ymin>3</ymin><xmax>10</xmax><ymax>8</ymax></bndbox>"
        "</object></annotation>"
    )
    write(tmp_path / "voc" / "Annotations" / "frame_000004.xml", voc)
    for name, folder, frame in (("coco", "coco", 3), ("yolo", "yolo", 2), ("voc", "voc", 4)):
        imported = import_annotations(name, tmp_path / folder, VIDEO)
        assert sorted(imported.instances) == [frame], name
        assert imported.notes[0].startswith("matched 1 image name(s) to the video's frames by their numbers (frame_"), (
            name
        )
    coco["images"][0]["width"] = 32  # another video's
    write(tmp_path / "coco" / "annotations" / "instances_default.json", json.dumps(coco))
    refused("coco", tmp_path / "coco", VIDEO, "frame_000003.PNG is 32x48 but frame 3 is 64x48")


def test_label_studio_image_tasks_of_numbered_frames(tmp_path):
    """Frames uploaded to Label Studio (<8 hex>-frame_000007.jpg) land on the video's frame 7."""
    import json

    region = {"type": "rectanglelabels", "from_name": "label", "to_name": "image", "original_width": 64}
    region |= {
        "original_height": 48,
        "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["car"]},
    }
    task = {"data": {"image": "/data/upload/3/0a1b2c3d-frame_000007.jpg"}, "annotations": [{"result": [region]}]}
    imported = import_annotations("label-studio", write(tmp_path / "export.json", json.dumps([task])), VIDEO)
    assert sorted(imported.instances) == [7]
    assert imported.notes[0].startswith("matched 1 image name(s) to the video's frames by their numbers")
