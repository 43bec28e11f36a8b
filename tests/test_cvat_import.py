"""CVAT XML as CVAT and Datumaro write it: the video and images layouts, every shape kind, a task's own
frame numbering, rotated boxes both ways, and bad files in one line."""

from __future__ import annotations

import numpy as np
import pytest

from anymask.annotations import rle
from anymask.annotations.geometry import ellipse_mask, mask_iou, mask_to_rotated_box, rotated_box_to_mask
from anymask.formats import Dataset, FrameInfo, Instance, export_dataset, import_annotations

from import_support import FRAMES, refused, write


@pytest.mark.parametrize(
    "body, message",
    [
        ("<annotations><track id='0' label='a'><box frame='0'", "invalid XML"),
        ("<annotations><track id='x' label='a'></track></annotations>", "track id: expected an integer"),
        (
            "<annotations><track id='0' label='a'><box frame='99' xtl='1' ytl='1' xbr='5' ybr='5'/></track>"
            "</annotations>",
            "frame 99 is not in 0..5",
        ),
        ("<annotations><track id='0' label='a'><polygon frame='0' points='1,1;zz'/></track></annotations>", "polygon"),
        (
            "<annotations><image id='0' name='a.jpg' width='60' height='40'><mask label='a' left='0' top='0' "
            "width='2' height='2' rle='1,2'/></image></annotations>",
            "rle counts sum to 3",
        ),
        (
            "<annotations><image id='0' name='a.jpg' width='60' height='40'><mask label='a' left='760' top='0' "
            "width='20' height='2' rle='40'/></image></annotations>",
            "outside the 768x576 image",
        ),
        (
            "<annotations><track id='0' label='a'><box frame='0' xtl='1' ytl='1' xbr='inf' ybr='5'/></track>"
            "</annotations>",
            "xbr must be a finite number",
        ),
        (
            "<annotations><track id='0' label='a'><ellipse frame='0' cx='9' cy='9' rx='nan' ry='2'/></track>"
            "</annotations>",
            "rx must be a finite number",
        ),
        (
            "<annotations><track id='0' label='a'><box frame='0' xtl='1' ytl='1' xbr='5' ybr='5' rotation='x'/>"
            "</track></annotations>",
            "could not convert",
        ),
    ],
)
def test_bad_cvat_files(tmp_path, body, message):
    refused("cvat", write(tmp_path / "annotations.xml", body), FRAMES, message)


def test_cvat_images_layout_with_masks_and_groups(tmp_path):
    body = (
        "<annotations><image id='0' name='a.jpg' width='6' height='4'>"
        "<mask label='cat' left='1' top='1' width='2' height='2' rle='1,3'/>"
        "<box label='dog' xtl='3' ytl='0' xbr='6' ybr='2' group_id='1'/>"
        "<box label='dog' xtl='0' ytl='3' xbr='2' ybr='4' group_id='1'/></image></annotations>"
    )
    imported = import_annotations("cvat", write(tmp_path / "annotations.xml", body))
    cat, dog = sorted(imported.on(0), key=lambda i: i.label)
    assert cat.mask.sum() == 3 and not cat.mask[1, 1] and cat.mask[2, 2]
    assert dog.mask.sum() == 6 + 2 and imported.classes == ["cat", "dog"]


def _task(body, start=10, step=3, size=4):
    """CVAT for video 1.1 of a task made from every `step`-th frame of a video from `start`, as Datumaro's
    own test asset has it: frame numbers are the video's (start + step x the task's index)."""
    meta = (
        f"<meta><task><size>{size}</size><start_frame>{start}</start_frame><frame_filter>step={step}</frame_filter>"
        "<labels><label><name>II</name></label></labels>"
        "<original_size><width>25</width><height>20</height></original_size></task></meta>"
    )
    return f"<annotations><version>1.1</version>{meta}{body}</annotations>"


BOX_ON_10_AND_16 = (
    "<track id='0' label='II'><box frame='10' outside='0' xtl='3' ytl='4' xbr='10' ybr='5'/>"
    "<box frame='13' outside='1' xtl='3' ytl='4' xbr='10' ybr='5'/>"
    "<box frame='16' outside='0' xtl='1' ytl='1' xbr='3' ybr='3'/></track>"
)


def test_a_task_of_some_video_frames_reads_onto_the_task_or_the_whole_video(tmp_path):
    path = write(tmp_path / "annotations.xml", _task(BOX_ON_10_AND_16))
    task_frames = [FrameInfo(i, f"frame_{i:06d}.png", 20, 25) for i in range(4)]
    for frames in (task_frames, None):  # the task's own frames, or none given (4 from the meta)
        imported = import_annotations("cvat", path, frames)
        assert [f for f in imported.instances] == [0, 2] and imported.on(0)[0].mask.sum() == 7
        assert imported.notes == ["CVAT task frames from 10, step 3, read as frames 0..3"]
    video = [FrameInfo(i, f"frame_{i:06d}.png", 20, 25) for i in range(20)]
    imported = import_annotations("cvat", path, video)
    assert [f for f in imported.instances] == [10, 16] and imported.notes == []
    off_step = write(tmp_path / "off.xml", _task(BOX_ON_10_AND_16.replace("'16'", "'17'")))
    refused("cvat", off_step, task_frames, "frame 17 is not in 0..3 \\(the task's frames start at 10, step 3\\)")


def test_every_cvat_shape_kind_becomes_a_mask_or_a_note(tmp_path):
    body = (
        "<annotations><image id='0' name='a.jpg' width='40' height='30'>"
        "<box label='bar' xtl='10' ytl='10' xbr='30' ybr='14' rotation='90'/>"
        "<ellipse label='egg' cx='20' cy='15' rx='5' ry='2' rotation='90'/>"
        "<points label='p' points='1,1;2,2'/><polyline label='l' points='1,1;9,9'/>"
        "<skeleton label='s'><points label='1' points='3,3'/></skeleton><tag label='t'/>"
        "</image></annotations>"
    )
    imported = import_annotations("cvat", write(tmp_path / "annotations.xml", body))
    bar, egg = sorted(imported.on(0), key=lambda i: i.label)
    upright = np.zeros((30, 40), bool)
    upright[2:22, 18:22] = True  # 20 x 4 turned a quarter about its centre (20, 12)
    assert np.array_equal(bar.mask, upright)
    assert np.array_equal(egg.mask, ellipse_mask(20, 15, 5, 2, 90, 30, 40)) and egg.mask.sum() > 20
    assert egg.mask[19, 20] and not egg.mask[15, 24]  # its long axis is vertical
    assert imported.notes == ["left out 4 shape(s) that are not areas (1 points, 1 polyline, 1 skeleton, 1 tag)"]


def test_rotation_mode_exports_rotated_boxes_that_read_back(tmp_path):
    height, width = 120, 160
    frames = [FrameInfo(i, f"f{i}.jpg", height, width) for i in range(3)]
    bars = {i: ellipse_mask(80, 60, 50, 12, degrees, height, width) for i, degrees in enumerate((20, 65, 130))}
    instances = {i: [Instance(1, "bar", rle.encode(mask))] for i, mask in bars.items()}
    path = export_dataset(Dataset("s", frames, ["bar"], instances), "cvat", tmp_path / "cvat", mode="rotation")
    text = path.read_text()
    assert text.count("<box ") == 3 and 'rotation="20.' in text and "<polygon" not in text
    back = import_annotations("cvat", path, frames)
    for i, mask in bars.items():
        (got,) = back.on(i)
        assert mask_iou(got.mask, rotated_box_to_mask(mask_to_rotated_box(mask)[0], height, width)) > 0.98
        assert (mask & ~got.mask).sum() <= 0.01 * mask.sum()  # the box holds the object
