"""Label Studio's video task: box tracks over a video a browser plays (MP4, H.264, a constant frame rate)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import MediaError
from .dataset import Dataset

# What Label Studio's docs ask of a video (browsers play it and Label Studio counts frames from its time):
# an MP4 container, H.264 in 4:2:0, every frame the same length.
PLAYABLE_SUFFIXES = (".mp4", ".m4v")
PLAYABLE_PIXEL_FORMATS = ("yuv420p", "yuvj420p")
VIDEOS_FOLDER = "videos"
H264_ENCODER = "libx264"  # in PyAV's wheels
H264_QUALITY = {"crf": "18", "preset": "veryfast"}  # visually lossless; 270 frames of 720x528 in 2 s on 2 cores


def browser_video(dataset: Dataset, video: Path, out: Path, progress: Callable[[int], None] | None = None) -> str:
    """The path, relative to `out`, of a video Label Studio plays frame for frame like `video`, under
    `out/videos/` (Label Studio serves local files only from a storage below its document root): the video
    itself (linked, else copied) where it already is one, else its frames encoded as `<stem>.mp4`."""
    folder = out / VIDEOS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    if browser_playable(video):
        target = folder / video.name
        if not (target.exists() and target.samefile(video)):
            target.unlink(missing_ok=True)
            try:
                os.link(video, target)
            except OSError:  # another file system, or links not allowed
                shutil.copyfile(video, target)
    else:
        target = folder / f"{video.stem}.mp4"
        encode_h264(dataset, target, progress)
    return f"{VIDEOS_FOLDER}/{target.name}"


def browser_playable(video: Path) -> bool:
    """Whether `video` is an MP4 of 4:2:0 H.264 whose frames all last alike (and whose audio, if any, ends
    with the picture: Label Studio counts frames from the longest stream)."""
    if video.suffix.lower() not in PLAYABLE_SUFFIXES:
        return False
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            if stream.codec_context.name != "h264" or stream.codec_context.pix_fmt not in PLAYABLE_PIXEL_FORMATS:
                return False
            times = [packet.pts for packet in container.demux(stream) if packet.pts is not None]
            # read while open: PyAV 18.1.1 refuses a stream's attributes once its container is closed
            time_base, rate = stream.time_base, stream.average_rate
            audio_ends = [
                float((s.start_time or 0) + s.duration) * s.time_base
                for s in container.streams.audio
                if s.duration and s.time_base
            ]
    except (av.error.FFmpegError, IndexError, ValueError, OSError):
        return False
    steps = set(np.diff(sorted(times)).tolist())
    if len(times) < 2 or len(steps) != 1:
        return False
    video_end = float((max(times) + steps.pop()) * time_base)
    frame_seconds = 1.0 / float(rate or 30)
    return all(abs(end - video_end) <= frame_seconds for end in audio_ends)


def encode_h264(dataset: Dataset, path: Path, progress: Callable[[int], None] | None = None) -> None:
    """Every frame of the dataset's source, in order, as H.264 at its frame rate (frame i at i / fps).

    A frame the source could not read repeats the one before, so later frames keep their times. 4:2:0
    needs an even width and height: an odd one gets its last row or column repeated, which moves the
    boxes, given in percent of the picture, by less than a pixel."""
    if H264_ENCODER not in av.codecs_available:
        raise MediaError(
            f"{path}: this PyAV has no H.264 encoder ({H264_ENCODER}) to write the video Label Studio plays; "
            "convert the video to MP4/H.264 (ffmpeg -i VIDEO -c:v libx264 -pix_fmt yuv420p OUT.mp4) and export that"
        )
    readable = sorted(frame.index for frame in dataset.frames)
    rate = Fraction(dataset.fps or 30.0).limit_denominator(100_000)
    partial = path.with_name(path.name + ".partial")
    try:
        with av.open(str(partial), "w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream(H264_ENCODER, rate=rate, options=dict(H264_QUALITY))
            stream.pix_fmt = "yuv420p"
            _encode_frames(dataset, readable, stream, container, progress)
        os.replace(partial, path)
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: cannot write the video ({exc.strerror or exc})") from None
    finally:
        partial.unlink(missing_ok=True)


def _encode_frames(dataset: Dataset, readable: list[int], stream, container, progress) -> None:
    """Frames 0 to the last readable one; one that cannot be read repeats the one before (the first
    readable one where none came before)."""
    rate, wanted, picture = stream.codec_context.framerate, set(readable), None
    for index in range(readable[-1] + 1):
        if index in wanted or picture is None:
            picture = _even(np.asarray(dataset.source.frame(index if index in wanted else readable[0])))
        if index == 0:
            stream.height, stream.width = picture.shape[:2]
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts, frame.time_base = index, 1 / rate
        container.mux(stream.encode(frame))
        if progress is not None:
            progress(index + 1)
    container.mux(stream.encode(None))


def _even(picture: np.ndarray) -> np.ndarray:
    height, width = picture.shape[:2]
    if height % 2 or width % 2:
        picture = np.pad(picture, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    return np.ascontiguousarray(picture[..., :3], dtype=np.uint8)


def video_frame_count(dataset: Dataset) -> int:
    """Frames in the video task: up to the last frame of the dataset."""
    return max((frame.index for frame in dataset.frames), default=-1) + 1
