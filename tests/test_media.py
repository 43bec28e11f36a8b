"""Frame sources: natural order, exact random access on real and synthetic videos, bad media errors."""

from __future__ import annotations

import fractions
import random
import time

import av
import numpy as np
import pytest
from PIL import Image

from anymask.errors import MediaError
from anymask.media import ImageFolderSource, VideoSource, natural_key, open_source


def sequential_frames(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]


def test_natural_sort_order():
    names = ["frame_10.png", "frame_2.png", "Frame_1.png", "frame_100.png"]
    assert sorted(names, key=natural_key) == ["Frame_1.png", "frame_2.png", "frame_10.png", "frame_100.png"]


def test_image_folder_mixed_sizes_and_formats(tmp_path):
    sizes = {"img_10.png": (30, 40), "img_2.jpg": (50, 20), "img_1.bmp": (10, 10)}
    for name, (h, w) in sizes.items():
        Image.new("RGB", (w, h), (200, 10, 10)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    source = open_source(tmp_path)
    assert isinstance(source, ImageFolderSource) and len(source) == 3
    assert [source.frame_name(i) for i in range(3)] == ["img_1.bmp", "img_2.jpg", "img_10.png"]
    assert [source.frame(i).shape for i in range(3)] == [(10, 10, 3), (50, 20, 3), (30, 40, 3)]
    assert source.frame_size(1) == (50, 20)
    assert source.thumbnail(2, 16).shape[1] == 16
    with pytest.raises(IndexError):
        source.frame(3)


def test_bad_folders_and_files(tmp_path):
    with pytest.raises(MediaError, match="no images found"):
        open_source(tmp_path)
    with pytest.raises(MediaError, match="no such file"):
        open_source(tmp_path / "missing.mp4")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(MediaError, match="unsupported file"):
        open_source(text)
    garbage = tmp_path / "clip.mp4"
    garbage.write_bytes(b"\x00garbage" * 500)
    with pytest.raises(MediaError) as exc:
        open_source(garbage)
    assert str(garbage) in str(exc.value) and "\n" not in str(exc.value)
    broken = tmp_path / "frames"
    broken.mkdir()
    Image.new("RGB", (8, 8)).save(broken / "a.png")
    (broken / "b.png").write_bytes(b"\x89PNG broken")
    source = open_source(broken)
    with pytest.raises(MediaError, match="b.png"):
        source.frame(1)
    assert source.frame(0).shape == (8, 8, 3)


@pytest.mark.parametrize(
    "name, count", [("vtest.avi", 795), ("tree.avi", 68), ("Megamind.avi", 270), ("Megamind_bugy.avi", 270)]
)
def test_real_videos_random_access_matches_sequential_decode(media_dir, name, count):
    path = media_dir / name
    expected = sequential_frames(path)
    source = open_source(path)
    assert isinstance(source, VideoSource)
    assert len(source) == count == len(expected)
    order = list(range(count))
    random.Random(count).shuffle(order)
    for index in order[:25] + [count - 1, 0, 1]:
        assert np.array_equal(source.frame(index), expected[index]), index
    assert source.thumbnail(count // 2).shape[2] == 3
    with pytest.raises(IndexError):
        source.frame(count)


def test_open_decodes_nothing_and_is_fast(media_dir):
    start = time.perf_counter()
    source = open_source(media_dir / "vtest.avi")
    assert time.perf_counter() - start < 0.5
    assert len(source.cache) == 0 and source.estimated_length == 795
    assert source.frame_size() == (576, 768) and source.fps == pytest.approx(10.0)


def test_frame_cache_is_bounded(media_dir):
    source = VideoSource(media_dir / "vtest.avi", cache_bytes=3 * 576 * 768 * 3)
    for index in range(10):
        source.frame(index)
    assert len(source.cache) == 3 and source.cache.nbytes <= 3 * 576 * 768 * 3


def _damaged_copies(media_dir, tmp_path):
    data = (media_dir / "Megamind.avi").read_bytes()
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    for i in range(len(corrupt) // 3, len(corrupt) // 3 + 40000, 7):
        corrupt[i] = (corrupt[i] * 31 + 7) % 256
    scrambled = tmp_path / "scrambled.avi"
    scrambled.write_bytes(bytes(corrupt))
    return [truncated, scrambled]


def test_damaged_videos_give_frames_or_clear_errors(media_dir, tmp_path):
    for path in _damaged_copies(media_dir, tmp_path):
        source = open_source(path)
        count = len(source)
        assert 0 < count < 270  # only frames really in the file are counted
        for index in range(0, count, 7):
            try:
                assert source.frame(index).shape == (528, 720, 3)
            except MediaError as exc:
                assert f"frame {index}" in str(exc) and str(path) in str(exc)


def _write_vfr_video(path, count=40):
    """H.264 with B-frames and irregular timestamps; frame i is filled with a colour that encodes i."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = fractions.Fraction(1, 1000)
        stream.options = {"bf": "3", "g": "10", "b_strategy": "0"}
        pts = 0
        for i in range(count):
            picture = np.zeros((48, 64, 3), np.uint8)
            picture[..., 0], picture[..., 1] = (i * 6) % 256, 255 - (i * 6) % 256
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = pts, fractions.Fraction(1, 1000)
            pts += 33 if i % 3 else 90
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_variable_frame_rate_with_b_frames(tmp_path):
    path = tmp_path / "vfr.mp4"
    _write_vfr_video(path)
    source = open_source(path)
    assert len(source) == 40
    for index in [39, 0, 17, 5, 6, 7, 30, 2]:
        red = int(source.frame(index)[..., 0].mean().round())
        assert abs(red - (index * 6) % 256) <= 3, index
    assert source.timestamp(3) == pytest.approx(0.033 * 2 + 0.090, abs=0.002)


def test_a_damaged_packet_costs_its_own_frame_not_the_rest_of_its_group(tmp_path, monkeypatch):
    """The decoder rejects one packet mid-group: only that frame fails (one line naming it); the frames after
    it in the same key-frame group still decode, read forward or at random."""
    from anymask.media.video import VideoSource

    path = tmp_path / "vfr.mp4"
    _write_vfr_video(path, count=40)  # key frames every 10, B-frames
    clean = [frame.copy() for frame in (open_source(path).frame(i) for i in range(40))]
    with av.open(str(path)) as container:
        packets = [p for p in container.demux(container.streams.video[0]) if p.size and not p.is_keyframe]
    damaged_pts = packets[len(packets) // 2].pts
    real = VideoSource._decode_packet

    def reject(packet):
        if packet.pts == damaged_pts:
            raise av.error.InvalidDataError(-1094995529, "Invalid data found when processing input")
        return real(packet)

    monkeypatch.setattr(VideoSource, "_decode_packet", staticmethod(reject))
    for order in (range(40), [30, 5, 22, 23, 24, 39, 0, 17]):
        source = open_source(path)
        source.index.count()  # the whole index
        damaged = source.index.position(damaged_pts)
        failed = []
        for index in order:
            try:
                frame = source.frame(index)
            except MediaError as exc:
                failed.append(index)
                assert f"frame {index}" in str(exc) and "\n" not in str(exc)
                continue
            if index < damaged // 10 * 10 or index >= damaged // 10 * 10 + 10:  # other groups decode exactly
                assert np.array_equal(frame, clean[index]), index
        assert failed == ([damaged] if damaged in order else []), (failed, damaged)
        assert source.bad_packets == ({damaged_pts} if damaged in order else source.bad_packets)
