"""Video files through PyAV: a demux-only timestamp index, exact frame-index seeking, sequential fast path."""

from __future__ import annotations

import bisect
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .base import DEFAULT_CACHE_BYTES, FrameSource, media_error, shrink

VIDEO_EXTENSIONS = {
    ".mp4",
    ".avi",
    ".mov",
    ".mkv",
    ".webm",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".wmv",
    ".flv",
    ".ts",
    ".mts",
    ".3gp",
    ".ogv",
}
# B-frames reorder presentation within a few packets; positions this far behind the demuxer are final
REORDER_MARGIN = 64


class TimestampIndex:
    """Presentation timestamps of every frame, gathered by demuxing (no decoding) in a background thread.

    Frame i is the i-th frame in presentation order, which is right for variable frame rates, B-frames
    and AVI files with empty (repeat) chunks, and counts only frames that are really in the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pts: list[int] = []
        self._keyframes: list[int] = []  # pts of key frames, sorted
        self._packets = 0
        self._done = False
        self._error: str | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"index {path.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                for packet in container.demux(stream):
                    if packet.pts is None or packet.size == 0:
                        continue
                    with self._changed:
                        bisect.insort(self._pts, packet.pts)
                        if packet.is_keyframe:
                            bisect.insort(self._keyframes, packet.pts)
                        self._packets += 1
                        if self._packets % 32 == 0:
                            self._changed.notify_all()
        except av.error.FFmpegError as exc:  # a damaged tail: keep what was indexed
            self._error = str(exc).splitlines()[0]
        finally:
            with self._changed:
                self._done = True
                self._changed.notify_all()

    def _final_count(self) -> int:
        return len(self._pts) if self._done else max(0, len(self._pts) - REORDER_MARGIN)

    def pts(self, index: int) -> int | None:
        """Timestamp of frame `index`, waiting for the indexer to reach it; None if the video is shorter."""
        with self._changed:
            while index >= self._final_count() and not self._done:
                self._changed.wait(timeout=0.5)
            return self._pts[index] if index < len(self._pts) else None

    def position(self, pts: int) -> int | None:
        with self._changed:
            position = bisect.bisect_left(self._pts, pts)
            return position if position < len(self._pts) and self._pts[position] == pts else None

    def keyframe_before(self, pts: int, skip: int = 0) -> tuple[int, int]:
        """(pts, position) of the key frame at or before `pts` in presentation order, `skip` key frames earlier."""
        with self._changed:
            slot = bisect.bisect_right(self._keyframes, pts) - 1 - skip
            if slot < 0 or not self._keyframes:
                return self._pts[0], 0
            key_pts = self._keyframes[slot]
            return key_pts, bisect.bisect_left(self._pts, key_pts)

    def count(self, wait: bool = True) -> int:
        with self._changed:
            while wait and not self._done:
                self._changed.wait(timeout=0.5)
            return len(self._pts)

    @property
    def complete(self) -> bool:
        return self._done

    @property
    def error(self) -> str | None:
        return self._error


class VideoSource(FrameSource):
    """A video file. Opening reads only the header; frames decode on demand."""

    def __init__(self, path: str | Path, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        super().__init__(cache_bytes)
        self.path = Path(path)
        if not self.path.is_file():
            raise media_error(self.path, "video file not found")
        try:
            self._container = av.open(str(self.path))
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
            raise media_error(self.path, f"cannot open as a video ({str(exc).split(':')[0].strip()})") from None
        if not self._container.streams.video:
            self._container.close()
            raise media_error(self.path, "has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        rate = self._stream.average_rate or self._stream.guessed_rate or Fraction(30)
        self.fps = float(rate)
        self._size = (self._stream.codec_context.height, self._stream.codec_context.width)
        self.index = TimestampIndex(self.path)
        self._lock = threading.RLock()
        self._decoder = None  # iterator continuing after the last decoded frame
        self.bad_packets: set[int | None] = set()  # pts of packets the decoder rejected (skipped)
        self._resync = False  # a packet was skipped: place frames by pts, not by counting, until the next seek
        self._last_position: int | None = None

    @property
    def estimated_length(self) -> int:
        """Frame count from the header (instant, may be wrong for damaged or VFR files)."""
        if self._stream.frames:
            return int(self._stream.frames)
        if self._stream.duration and self._stream.time_base:
            return int(round(float(self._stream.duration * self._stream.time_base) * self.fps))
        return 0

    def __len__(self) -> int:
        """Exact number of frames (waits for the demux index, which decodes nothing)."""
        return self.index.count(wait=True)

    def frame_size(self, index: int = 0) -> tuple[int, int]:
        return self._size

    def frame_name(self, index: int) -> str:
        return f"{self.path.stem}_{index:06d}.jpg"

    def timestamp(self, index: int) -> float:
        """Presentation time of frame `index` in seconds."""
        pts = self.index.pts(self.check_index(index))
        return float((pts - (self._stream.start_time or 0)) * self._stream.time_base)

    def check_index(self, index: int) -> int:
        if isinstance(index, (int, np.integer)) and index >= 0 and self.index.pts(int(index)) is not None:
            return int(index)
        return super().check_index(index)

    def _read(self, index: int) -> np.ndarray:
        """Decode frame `index`: continue the running decoder when reading forward, else seek and count.

        Frames leave the decoder in presentation order, but their pts cannot always be trusted (AVI with
        B-frames labels them out of order), so only the first frame after a seek is identified by its pts
        (or the key frame's position); the frames after it are counted.
        """
        with self._lock:
            if self._decoder is not None and self._last_position == index - 1:
                frame = self._next_frame(index)
                if frame is not None:
                    return frame
            for earlier in range(4):
                frame = self._seek_and_count(index, earlier)
                if frame is not None:
                    return frame
        raise media_error(self.path, "cannot be decoded (no frame with that index came out of the decoder)", index)

    def _next_frame(self, index: int) -> np.ndarray | None:
        try:
            frame = next(self._decoder, None)
        except av.error.FFmpegError as exc:
            self._decoder = None
            raise media_error(self.path, f"cannot be decoded ({str(exc).splitlines()[0]})", index) from None
        if frame is None:
            self._decoder = None
            return None
        position = self._place(frame, index)
        self._last_position = position
        if position != index:  # the frame asked for was in a damaged packet: the next one came out
            if position > index:
                self.cache.put(position, frame.to_ndarray(format="rgb24"))
                raise media_error(self.path, "cannot be decoded (its packet is damaged)", index)
            self._decoder = None
            return None
        return frame.to_ndarray(format="rgb24")

    def _place(self, frame, counted: int) -> int:
        """A decoded frame's index: `counted` (the decoder's order), or its pts after a skipped packet."""
        if not self._resync:
            return counted
        found = self.index.position(frame.pts) if frame.pts is not None else None
        return counted if found is None else found

    def _decode(self):
        """Frames from the current position; a packet the decoder rejects is skipped (its pts kept in
        `bad_packets`) instead of ending the decode, so a damaged packet costs its own frame, not the rest
        of its key-frame group."""
        for packet in self._container.demux(self._stream):
            try:
                frames = self._decode_packet(packet)
            except av.error.InvalidDataError:
                self.bad_packets.add(packet.pts)
                self._resync = True
                continue
            yield from frames

    @staticmethod
    def _decode_packet(packet) -> list:
        return packet.decode()

    def _seek_and_count(self, index: int, earlier: int) -> np.ndarray | None:
        key_pts, key_position = self.index.keyframe_before(self.index.pts(index), skip=earlier)
        try:
            self._container.seek(key_pts if earlier < 3 else 0, stream=self._stream, backward=True, any_frame=False)
            self._decoder = self._decode()
            self._resync = False
            position = None
            for frame in self._decoder:
                if position is None:
                    found = self.index.position(frame.pts) if frame.pts is not None else None
                    position = found if found is not None else (key_position if earlier < 3 else 0)
                else:
                    position = self._place(frame, position + 1)
                self._last_position = position
                if position == index:
                    return frame.to_ndarray(format="rgb24")
                if position > index:
                    break  # the seek landed after the frame: try from an earlier key frame
        except av.error.FFmpegError as exc:
            self._decoder = None
            raise media_error(self.path, f"cannot be decoded ({str(exc).splitlines()[0]})", index) from None
        self._decoder, self._last_position = None, None
        return None

    def _read_thumbnail(self, index: int, max_side: int) -> np.ndarray:
        """Decode only the key frame at or before `index` (one decode, no forward scan)."""
        target = self.index.pts(index)
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                container.seek(target, stream=stream, backward=True, any_frame=False)
                for frame in container.decode(stream):
                    return shrink(frame.to_ndarray(format="rgb24"), max_side)
        except av.error.FFmpegError:
            pass
        return shrink(self.frame(index), max_side)

    def close(self) -> None:
        with self._lock:
            self._decoder = None
            self._container.close()
