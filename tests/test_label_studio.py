"""Label Studio JSON: files as Label Studio exports them (uploads, rotated boxes, ellipses, brush masks,
cancelled and several annotations, predictions, video box tracks), our export's layout, and bad files."""

from __future__ import annotations

import json
from fractions import Fraction

import av
import numpy as np
import pytest

from anymask.annotations import rle
from anymask.annotations.geometry import ellipse_mask, mask_iou, mask_to_rotated_box, rotated_box_to_mask
from anymask.formats import Dataset, FrameInfo, Instance, export_dataset, import_annotations
from anymask.formats.dataset import frame_infos
from anymask.formats.label_studio_brush import decode_brush, encode_brush
from anymask.media import open_source

from import_support import FRAMES, refused, write

# mask2rle (label-studio-converter 0.0.59) of a 576x768 mask, rows 100..109 and columns 200..229 on
LS_BRUSH_10x30 = [
    int(byte)
    for byte in (
        "0 27 0 0 57 27 255 255 255 0 255 255 224 31 255 252 3 255 255 128 123 49 240 12 239 255 194 225 192 "
        "51 191 255 11 135 0 206 255 252 46 28 3 59 255 240 184 112 12 239 255 194 225 192 51 191 255 11 135 "
        "0 206 255 252 46 28 3 59 255 240 184 112 12 239 255 194 225 192 51 191 255 255 255 0 255 255 224 31 "
        "255 252 3 255 255 128 127 255 240 15 255 254 1 255 255 192 63 255 248 7 255 255 0 255 255 224 31 255 "
        "252 3 255 255 128 127 255 240 15 255 254 1 255 255 192 63 255 248 7 255 255 0 255 255 224 31 255 252 "
        "3 255 255 128 127 255 240 15 192 206 0 "
    ).split()
]


def _result(kind, value, region_id="Dx_aB91ISN", **extra):
    return {
        "id": region_id,
        "type": kind,
        "from_name": "label",
        "to_name": "image",
        "original_width": 768,
        "original_height": 576,
        "value": value,
        **extra,
    }


def _task(image, results, **extra):
    return {"id": 7, "data": {"image": image}, "annotations": [{"id": 1, "result": results}], **extra}


def test_a_label_studio_export_with_every_region_kind(tmp_path):
    polygon = {"points": [[10, 10], [20, 10], [20, 30]], "polygonlabels": ["roof"]}
    box = {"x": 50, "y": 50, "width": 10, "height": 5, "rotation": 90, "rectanglelabels": ["car"]}
    ellipse = {"x": 25, "y": 75, "radiusX": 2, "radiusY": 4, "rotation": 0, "ellipselabels": ["egg"]}
    brush = {"format": "rle", "rle": LS_BRUSH_10x30, "brushlabels": ["car"]}
    tasks = [
        _task(
            "/data/upload/3/1a2b3c4d-vtest_000002.jpg",  # an uploaded file, renamed by Label Studio
            [
                _result("polygonlabels", polygon, "a"),
                _result("rectanglelabels", box, "b"),
                _result("ellipselabels", ellipse, "c"),
                _result("keypointlabels", {"x": 1, "y": 1, "keypointlabels": ["eye"]}, "d"),
                {"type": "choices", "value": {"choices": ["day"]}, "from_name": "time", "to_name": "image"},
            ],
        ),
        {  # a cancelled annotation is passed over; of two, the first is read
            "data": {"image": "/data/local-files/?d=frames/vtest_000004.jpg"},
            "annotations": [
                {"was_cancelled": True, "result": [_result("polygonlabels", polygon, "x")]},
                {"result": [_result("brushlabels", brush, "e")]},
                {"result": []},
            ],
        },
        {
            "data": {"image": "s3://bucket/vtest_000005.jpg"},
            "predictions": [{"result": [_result("rectanglelabels", box)]}],
        },
        {"data": {"image": "vtest_000001.jpg"}},  # not labelled yet
        # a Windows path in a local-files URL; a brush region with nothing painted
        _task(
            "/data/local-files/?d=images%5Cvtest_000003.jpg", [_result("brushlabels", {"rle": [], "brushlabels": []})]
        ),
    ]
    imported = import_annotations("label-studio", write(tmp_path / "project-1.json", json.dumps(tasks)), FRAMES)
    assert sorted(imported.instances) == [2, 4, 5] and imported.classes == ["roof", "car", "egg"]
    roof, car, egg = imported.on(2)
    assert len({roof.object_id, car.object_id, egg.object_id}) == 3  # foreign regions: an object each
    width, height = 768, 576
    assert roof.mask[int(0.15 * height), int(0.19 * width)] and not roof.mask[int(0.15 * height), int(0.11 * width)]
    turned = np.zeros((height, width), bool)  # 76.8 x 28.8 px turned a quarter about its top-left (384, 288)
    assert (
        mask_iou(car.mask, rotated_box_to_mask([[384, 288], [384, 364.8], [355.2, 364.8], [355.2, 288]], height, width))
        == 1.0
    )
    turned[288:365, 356:384] = True
    assert mask_iou(car.mask, turned) > 0.95
    assert np.array_equal(egg.mask, ellipse_mask(192, 432, 15.36, 23.04, 0, height, width))
    (painted,) = imported.on(4)
    assert painted.mask.sum() == 300 and painted.mask[100:110, 200:230].all()
    assert imported.notes == [
        "1 task(s) with several annotations: the first was read",
        "1 task(s) read from their predictions (no annotation)",
        "1 empty brush region(s) left out",
        "left out 2 result(s) that are not areas (1 keypointlabels, 1 choices)",
    ]


def test_a_video_task_is_its_tracks_boxes_on_the_frames_label_studio_shows_them(tmp_path):
    frames = [FrameInfo(i, f"frame_{i:06d}.jpg", 100, 200) for i in range(8)]
    sequence = [
        {"frame": 1, "enabled": True, "x": 0, "y": 0, "width": 10, "height": 10, "time": 0},
        {"frame": 3, "enabled": True, "x": 20, "y": 0, "width": 10, "height": 10},  # frame 2 between
        {"frame": 4, "enabled": False, "x": 20, "y": 0, "width": 10, "height": 10},  # gone after 4
        {"frame": 6, "enabled": True, "x": 50, "y": 50, "width": 5, "height": 5},  # back, to the end
    ]
    value = {"sequence": sequence, "framesCount": 8, "labels": ["fish"]}
    task = {
        "data": {"video": "/data/upload/1/clip.mp4"},
        "annotations": [
            {"result": [{"id": "t1", "type": "videorectangle", "from_name": "box", "to_name": "video", "value": value}]}
        ],
    }
    imported = import_annotations("label-studio", write(tmp_path / "export.json", json.dumps([task])), frames)
    assert sorted(imported.instances) == [0, 1, 2, 3, 5, 6, 7] and imported.classes == ["fish"]
    assert len({i.object_id for items in imported.instances.values() for i in items}) == 1
    (middle,) = imported.on(1)
    assert middle.box == (20.0, 0.0, 40.0, 10.0)  # x 10% of 200 px, halfway from 0% to 20%
    assert imported.on(7)[0].box == (100.0, 50.0, 110.0, 55.0)
    refused("label-studio", tmp_path / "export.json", None, "a video task; name its video with --media")


def _bars():
    height, width = 120, 160
    frames = [FrameInfo(i, f"f{i}.jpg", height, width) for i in range(3)]
    bars = {i: ellipse_mask(80, 60, 50, 12, degrees, height, width) for i, degrees in enumerate((20, 65, 130))}
    instances = {i: [Instance(4, "bar", rle.encode(mask))] for i, mask in bars.items() if i != 1}

    class Pixels:
        fps, path = 25.0, "synthetic"

        def frame(self, index):
            return np.zeros((height, width, 3), np.uint8)

    return Dataset("s", frames, ["bar", "unused"], instances, Pixels(), 25.0), bars


@pytest.mark.parametrize("mode", ["polygon", "rectangle", "rotation", "mask"])
def test_our_export_is_label_studio_tasks_with_a_labeling_config(tmp_path, mode):
    dataset, bars = _bars()
    tasks_file = export_dataset(dataset, "label-studio", tmp_path / "ls", mode=mode, tolerance=0.0, empty_frames=True)
    tasks = json.loads(tasks_file.read_text())
    assert [t["data"] for t in tasks] == [
        {"image": f"/data/local-files/?d=images/f{i}.jpg", "frame": i} for i in range(3)
    ]
    assert all((tmp_path / "ls" / "images" / f"f{i}.jpg").is_file() for i in range(3))
    assert tasks[1]["annotations"][0]["result"] == []  # an empty frame, asked for
    (region,) = tasks[0]["annotations"][0]["result"]
    kind = {"polygon": "polygonlabels", "mask": "brushlabels"}.get(mode, "rectanglelabels")
    assert region["type"] == kind and region["id"] == "obj4-0" and region["value"][kind] == ["bar"]
    config = (tmp_path / "ls" / "label_config.xml").read_text()
    tag = {"polygon": "PolygonLabels", "mask": "BrushLabels"}.get(mode, "RectangleLabels")
    assert f'<{tag} name="label" toName="image">' in config and '<Label value="unused"' in config
    assert not (tmp_path / "ls" / "video_tasks.json").exists()  # frames of a folder: no video task
    back = import_annotations("label-studio", tasks_file, dataset.frames)
    for frame in (0, 2):
        (got,) = back.on(frame)
        want = bars[frame]
        if mode == "rectangle":
            ys, xs = np.nonzero(want)
            want = np.zeros_like(want)
            want[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
        elif mode == "rotation":
            want = rotated_box_to_mask(mask_to_rotated_box(want)[0], 120, 160)
        assert got.object_id == 4 and mask_iou(got.mask, want) > (0.99 if mode == "rotation" else 0.999)


def test_a_video_gets_a_video_task_of_box_tracks(tmp_path):
    dataset, bars = _bars()
    video = write(tmp_path / "clip.mp4", "not decoded: only its name is written")
    dataset.source.path = str(video)
    export_dataset(dataset, "label-studio", tmp_path / "ls", mode="polygon")
    (task,) = json.loads((tmp_path / "ls" / "video_tasks.json").read_text())
    assert task["data"] == {"video": "/data/local-files/?d=videos/clip.mp4", "fps": 25.0}  # encoded: not a video
    (track,) = task["annotations"][0]["result"]
    assert track["type"] == "videorectangle" and track["id"] == "obj4" and track["value"]["labels"] == ["bar"]
    assert [(k["frame"], k["enabled"]) for k in track["value"]["sequence"]] == [(1, False), (3, True)]
    config = (tmp_path / "ls" / "video_label_config.xml").read_text()
    assert '<Video name="video" value="$video" frameRate="$fps" />' in config  # else Label Studio takes 24 fps
    assert '<VideoRectangle name="box" toName="video" />' in config
    back = import_annotations("label-studio", tmp_path / "ls" / "video_tasks.json", dataset.frames)
    assert sorted(back.instances) == [0, 2] and back.on(2)[0].object_id == 4


def test_brush_masks_are_label_studios_own_bytes():
    mask = np.zeros((576, 768), bool)
    mask[100:110, 200:230] = True
    assert encode_brush(mask) == LS_BRUSH_10x30
    assert np.array_equal(decode_brush(LS_BRUSH_10x30, 576, 768), mask)
    whole = np.ones((300, 400), bool)  # runs longer than 65536 values are split as Label Studio splits them
    assert np.array_equal(decode_brush(encode_brush(whole), 300, 400), whole)


def _one(kind, value, **extra) -> str:
    """A file of one task on vtest_000000.jpg holding one region."""
    return json.dumps([_task("vtest_000000.jpg", [_result(kind, value, **extra)])])


def _video(sequence) -> str:
    result = {"type": "videorectangle", "value": {"sequence": sequence}}
    return json.dumps([{"data": {"video": "v.mp4"}, "annotations": [{"result": [result]}]}])


BOX = {"x": 1, "y": 1, "width": 1, "height": 1}


@pytest.mark.parametrize(
    "document, message",
    [
        ('{"tasks": []}', "expected a list of Label Studio tasks"),
        ("[3]", 'tasks\\[0\\]: expected an object with "data"'),
        ('[{"image": "a.jpg", "id": 1, "label": []}]', "JSON-MIN export; export the project as JSON"),
        (_one("rectanglelabels", BOX).replace("vtest_000000", "nope"), "image 'nope.jpg' is not a frame"),
        (_one("polygonlabels", {"points": [[1, 1], [2, 2]]}), "three or more"),
        (_one("rectanglelabels", dict(BOX, width="w")), "width must be a finite"),
        (_one("brushlabels", {"rle": LS_BRUSH_10x30}, original_width=10), "the mask is 10x576, the image 768x576"),
        (_one("brushlabels", {"rle": [0, 0, 0, 9, 256]}), "0..255"),
        (_one("brushlabels", {"rle": [0, 0, 0, 9]}), "ends early"),
        (_one("brushlabels", {"rle": LS_BRUSH_10x30[:40]}), "ends early"),
        (_video([dict(BOX, frame=0)]), "a frame from 1"),
        (json.dumps([{"data": {"image": "a.jpg"}, "annotations": {"result": []}}]), "annotations: expected a list"),
    ],
)
def test_bad_label_studio_files(tmp_path, document, message):
    refused("label-studio", write(tmp_path / "export.json", document), FRAMES, message)


def test_without_media_frames_come_from_the_tasks(tmp_path):
    tasks = [
        _task(
            "/data/upload/1/0badcafe-a.jpg", [_result("rectanglelabels", {"x": 0, "y": 0, "width": 50, "height": 50})]
        )
    ]
    imported = import_annotations("label-studio", write(tmp_path / "export.json", json.dumps(tasks)), None)
    assert [(f.file_name, f.height, f.width) for f in imported.frames] == [("a.jpg", 576, 768)]
    assert imported.on(0)[0].mask.sum() == 288 * 384 and imported.classes == ["object"]


def _write_video(path, codec, pixel_format, size, frames=12, rate=10):
    """A small video of a moving gradient: frame i is a ramp shifted by 3 i pixels."""
    height, width = size
    ramp = (np.arange(width)[None, :, None] * 4 + np.arange(height)[:, None, None] * 2 + np.array([0, 60, 120])) % 256
    pictures = [np.roll(ramp, 3 * i, axis=1).astype(np.uint8) for i in range(frames)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pixel_format
        for picture in pictures:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode(None))
    return path, pictures


def _video_dataset(path):
    source = open_source(path)
    frames = frame_infos(source)
    height, width = source.frame_size(0)
    box = np.zeros((height, width), bool)
    box[10:30, 8:40] = True
    return Dataset(
        "clip", frames, ["car"], {i: [Instance(2, "car", rle.encode(box))] for i in (0, 1, 5)}, source, source.fps
    )


def test_a_video_browsers_cannot_play_is_encoded_frame_for_frame(tmp_path):
    video, pictures = _write_video(tmp_path / "clip.mkv", "ffv1", "yuv444p", (49, 65))  # odd size, lossless
    dataset = _video_dataset(video)
    calls = []
    export_dataset(dataset, "label-studio", tmp_path / "ls", mode="rectangle", progress=lambda *c: calls.append(c))
    (task,) = json.loads((tmp_path / "ls" / "video_tasks.json").read_text())
    assert task["data"] == {"video": "/data/local-files/?d=videos/clip.mp4", "fps": 10.0}
    assert task["annotations"][0]["result"][0]["value"]["framesCount"] == 12
    assert calls[-1] == (24, 24) and [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert {total for _, total in calls} == {24}  # the frames' tasks, then the video's frames
    with av.open(str(tmp_path / "ls" / "videos" / "clip.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        decoded = list(container.decode(stream))
    assert [round(float(f.pts * f.time_base) * 10, 6) for f in decoded] == list(range(12))  # frame i at i / fps
    for index, frame in enumerate(decoded):
        got = frame.to_ndarray(format="rgb24")
        assert got.shape == (50, 66, 3)  # 4:2:0 needs even sides: the last row and column repeated
        errors = [np.abs(got[:49, :65].astype(int) - picture).mean() for picture in pictures]
        assert np.argmin(errors) == index and errors[index] < 10  # itself; a neighbour is 40+ off
    assert not list((tmp_path / "ls").rglob("*.partial"))


def test_a_video_browsers_play_is_linked_not_encoded(tmp_path):
    video, _ = _write_video(tmp_path / "clip.mp4", "libx264", "yuv420p", (48, 64))
    dataset = _video_dataset(video)
    export_dataset(dataset, "label-studio", tmp_path / "ls", mode="rectangle")
    (task,) = json.loads((tmp_path / "ls" / "video_tasks.json").read_text())
    assert task["data"] == {"video": "/data/local-files/?d=videos/clip.mp4", "fps": 10.0}
    assert (tmp_path / "ls" / "videos" / "clip.mp4").read_bytes() == video.read_bytes()
    export_dataset(dataset, "label-studio", tmp_path / "ls", mode="rectangle")  # again, over its own link
    assert (tmp_path / "ls" / "videos" / "clip.mp4").read_bytes() == video.read_bytes()


def test_which_videos_a_browser_plays_frame_for_frame(tmp_path):
    from anymask.formats.label_studio_video import browser_playable

    assert browser_playable(_write_video(tmp_path / "cfr.mp4", "libx264", "yuv420p", (48, 64))[0])
    assert not browser_playable(_write_video(tmp_path / "mpeg4.mp4", "mpeg4", "yuv420p", (48, 64))[0])
    assert not browser_playable(_write_video(tmp_path / "high444.mp4", "libx264", "yuv444p", (48, 64))[0])
    assert not browser_playable(_write_video(tmp_path / "cfr.mkv", "libx264", "yuv420p", (48, 64))[0])
    assert not browser_playable(write(tmp_path / "text.mp4", "not a video"))
    with av.open(str(tmp_path / "vfr.mp4"), "w") as container:  # frames at 0, 0.1, 0.3, 0.4 s
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for pts in (0, 1, 3, 4):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert not browser_playable(tmp_path / "vfr.mp4")


def test_a_track_label_studio_counted_at_24_fps_lands_on_the_videos_own_frames(tmp_path):
    """Label Studio's default frameRate is 24: on a 10 fps video its frame 25 is shown at 1 s, frame 10 here."""
    frames = [FrameInfo(i, f"v_{i:06d}.jpg", 100, 200) for i in range(20)]  # 2 s at 10 fps

    def keyframe(number, x, enabled=True):
        return {
            "frame": number,
            "time": (number - 1) / 24,
            "enabled": enabled,
            "x": x,
            "y": 10,
            "width": 10,
            "height": 10,
        }

    sequence = [keyframe(1, 0), keyframe(25, 20), keyframe(37, 30, enabled=False)]
    value = {"sequence": sequence, "framesCount": 48, "duration": 2.0, "labels": ["fish"]}
    task = {"data": {"video": "/data/upload/1/v.mp4"}, "annotations": [{"result": [_result("videorectangle", value)]}]}
    path = write(tmp_path / "export.json", json.dumps([task]))
    imported = import_annotations("label-studio", path, frames, fps=10.0)
    assert sorted(imported.instances) == list(range(16))  # gone after the disabled keyframe at 1.5 s
    assert imported.on(5)[0].box == (20.0, 10.0, 40.0, 20.0)  # halfway from x 0% to 20% of 200 px
    assert imported.on(10)[0].box == (40.0, 10.0, 60.0, 20.0) and imported.on(15)[0].box == (60.0, 10.0, 80.0, 20.0)
    assert any("at 24 fps, not the video's 10" in note for note in imported.notes)
    same_rate = import_annotations("label-studio", path, frames, fps=24.0)  # counted at the video's rate
    assert sorted(same_rate.instances) == list(range(20))
    assert same_rate.notes == ["2 keyframe(s) past the video's 20 frames left out"]


def test_anymask_import_places_label_studio_keyframes_by_the_videos_frame_rate(media_dir, tmp_path, capsys):
    from anymask.cli import main
    from anymask.project import ProjectStore

    box = {"x": 10, "y": 10, "width": 20, "height": 20, "enabled": False}  # vtest.avi: 10 fps
    value = {"sequence": [dict(box, frame=49, time=2.0)], "framesCount": 19080, "duration": 795.0, "labels": ["p"]}
    task = {
        "data": {"video": "/data/upload/1/vtest.mp4"},
        "annotations": [{"result": [_result("videorectangle", value)]}],
    }
    path = write(tmp_path / "export.json", json.dumps([task]))
    project = tmp_path / "project"
    assert main(["import", str(path), "--media", str(media_dir / "vtest.avi"), "--project", str(project)]) == 0
    assert "at 24 fps, not the video's 10" in capsys.readouterr().out
    with ProjectStore.open(project) as store:
        assert store.annotated_frames() == [20]  # 2 s in, not Label Studio's frame 49


def test_an_unreadable_frame_repeats_a_readable_one_and_a_failed_write_is_one_line(tmp_path, monkeypatch):
    from anymask.errors import MediaError
    from anymask.formats import label_studio_video
    from anymask.formats.label_studio_video import encode_h264

    video, pictures = _write_video(tmp_path / "clip.mkv", "ffv1", "yuv444p", (48, 64), frames=5)
    dataset = _video_dataset(video)
    dataset.frames = [f for f in dataset.frames if f.index not in (0, 2)]  # as frame_infos leaves out damaged ones
    encode_h264(dataset, tmp_path / "out.mp4")
    with av.open(str(tmp_path / "out.mp4")) as container:
        decoded = [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]
    nearest = [int(np.argmin([np.abs(got - p).mean() for p in pictures])) for got in decoded]
    assert nearest == [1, 1, 1, 3, 4]  # frame 0 shows the first readable frame, frame 2 the one before it

    def no_space(*args, **kwargs):
        raise av.error.FFmpegError(28, "No space left on device")

    monkeypatch.setattr(label_studio_video.av, "open", no_space)
    with pytest.raises(MediaError, match=r"out2\.mp4: cannot write the video \(No space left on device\)$"):
        encode_h264(dataset, tmp_path / "out2.mp4")
    assert not list(tmp_path.glob("out2*"))
    monkeypatch.setattr(label_studio_video.av, "codecs_available", set())  # a PyAV built without libx264
    with pytest.raises(MediaError, match=r"out3\.mp4: this PyAV has no H\.264 encoder \(libx264\)"):
        encode_h264(dataset, tmp_path / "out3.mp4")
