"""Media benchmark: open an hour-long 1080p H.264 video, read frames at random, count frames.

Usage: python benchmarks/media.py [--minutes 60] [--keep FILE]

The video is made here: 10 seconds are encoded once (libx264, GOP 60) and their packets remuxed with
shifted timestamps until the wanted length, so an hour-long file takes seconds to build.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from anymask.media import open_source

FPS = 30


def build_video(path: Path, minutes: float) -> None:
    segment = Path(str(path) + ".segment.mp4")
    with av.open(str(segment), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "60", "bf": "2"}
        yy, xx = np.mgrid[0:1080, 0:1920]
        for i in range(10 * FPS):
            picture = np.stack([(xx + 7 * i) % 256, (yy + 3 * i) % 256, np.full_like(xx, (i * 5) % 256)], -1).astype(
                np.uint8
            )
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with av.open(str(segment)) as source, av.open(str(path), "w") as out:
        in_stream = source.streams.video[0]
        out_stream = out.add_stream_from_template(in_stream)
        packets = [p for p in source.demux(in_stream) if p.size]
        step = max(p.pts for p in packets) + packets[1].duration if len(packets) > 1 else 1
        step = int(round(10 / in_stream.time_base)) if in_stream.time_base else step
        for copy in range(int(minutes * 6)):
            for packet in packets:
                packet.pts += step if copy else 0
                packet.dts += step if copy else 0
                packet.stream = out_stream
                out.mux(packet)
    segment.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the video at this path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "long.mp4"
        if not path.exists():
            start = time.perf_counter()
            build_video(path, args.minutes)
            print(f"built {path.name}: {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        source = open_source(path)
        opened = time.perf_counter() - start
        print(
            f"open: {opened * 1000:.1f} ms, header says {source.estimated_length} frames, {source.frame_size()}, "
            f"{source.fps:g} fps, frames decoded so far: {len(source.cache)}"
        )
        start = time.perf_counter()
        source.frame(0)
        print(f"first frame: {(time.perf_counter() - start) * 1000:.0f} ms")
        start = time.perf_counter()
        count = len(source)
        print(f"exact frame count {count}: {time.perf_counter() - start:.2f} s (demux-only index, no decoding)")
        rng = np.random.default_rng(0)
        times = []
        for index in rng.integers(0, count, 10):
            start = time.perf_counter()
            source.frame(int(index))
            times.append(time.perf_counter() - start)
        print(f"random frame: median {np.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms (GOP 60)")
        start = time.perf_counter()
        for index in range(count // 2, count // 2 + 60):
            source.frame(index)
        print(f"sequential: {60 / (time.perf_counter() - start):.0f} fps")
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
