"""Take a screenshot of the desktop app on a real X display (run it through scripts/screenshot.sh).

Usage: DISPLAY=:99 python scripts/screenshot.py OUT.png [--video tests/data/opencv/vtest.avi] [--frames 10]
       DISPLAY=:99 python scripts/screenshot.py docs/ --scene all   (marking, tracking, timeline, images)

Builds a project headlessly first (two objects marked on frame 0 and tracked with a random-weight
sam2.1-tiny checkpoint: no real weights can be downloaded here, so the masks are not meaningful), then
opens the real window on the video at frame 5 with the xcb platform and grabs the whole X screen with
ImageMagick's `import`, so the picture is what the X server shows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from anymask.bench import random_checkpoint  # noqa: E402


def build_project(video: Path, checkpoint: Path, frames: int) -> None:
    """Two objects: a box on frame 0, clicks on frame 0 and a correction on frame 5 (keyframes 1 and 6)."""
    from anymask.session import Session

    with Session(video, model=checkpoint) as session:
        session.add_box(380, 110, 440, 260)
        session.finish_object("person")
        session.add_point(620, 300)
        session.add_point(560, 120, positive=False)
        session.finish_object("walker")
        session.track("forward", end=frames - 1)
        session.set_frame(5)
        session.mark(2)
        session.add_point(600, 310)
        session.finish_object()


def first_frames(video: Path, folder: Path, count: int) -> Path:
    """The video's first `count` frames as a numbered JPEG folder (the app opens it as a video)."""
    from PIL import Image

    from anymask.media import open_source

    source = open_source(video)
    folder.mkdir()
    for index in range(min(count, len(source))):
        Image.fromarray(source.frame(index)).save(folder / f"{index:05d}.jpg", quality=92)
    return folder


def photos(video: Path, folder: Path) -> Path:
    """A folder of separate photos (named, not numbered) cut from the video."""
    from PIL import Image

    from anymask.media import open_source

    source = open_source(video)
    folder.mkdir()
    for index, name in enumerate(("market.jpg", "corner.jpg", "crossing.jpg", "street.jpg")):
        Image.fromarray(source.frame(60 * index)).save(folder / name)
    return folder


def wait(app, seconds: float, until=lambda: False) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline and not until():
        app.processEvents()
        time.sleep(0.05)


def grab(out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["import", "-window", "root", "-crop", "1360x860+0+0", str(out)], check=True)
    print(f"screenshot written to {out}")


def scene(name: str, app, window, out: Path, tmp: Path, video: Path) -> None:
    """Put the window in the state the scene shows, then grab the screen."""
    c = window.controller
    if name == "marking":  # a click just made: the point is drawn, the mask is being computed
        c.set_frame(20)
        wait(app, 1)
        window.canvas.clicked.emit(560.0, 250.0, True)
        wait(app, 5, lambda: bool(c.worker.busy and window.busy_label.text()))
        wait(app, 0.2)
    elif name == "tracking":  # a run of 30 frames, partway through: progress, ETA, Cancel
        c.set_frame(10)
        wait(app, 1)
        c.track_next(20)
        wait(app, 120, lambda: window.progress.value() >= 4)
    elif name == "timeline":  # keyframes (yellow) on frames 1 and 6, the current frame 6 boxed
        c.cancel_tracking()
        wait(app, 120, lambda: not c.tracking and not c.worker.busy)
        c.set_frame(5)
        wait(app, 2)
    elif name == "images":  # a folder of photos: the file list with done marks
        folder = photos(video, tmp / "photos")
        window.open_path(folder)
        wait(app, 1)
        for frame, (x, y) in ((0, (600, 300)), (2, (420, 200))):
            c.set_frame(frame)
            wait(app, 1)
            c.click(x, y)
            wait(app, 60, lambda: not c.worker.busy)
            c.finish("person")
            wait(app, 10, lambda: not c.worker.busy)
        c.set_frame(1)
        wait(app, 2)
    wait(app, 0.5)  # let every widget repaint what the last event changed
    grab(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a .png file, or a folder for --scene all")
    parser.add_argument("--video", type=Path, default=ROOT / "tests" / "data" / "opencv" / "vtest.avi")
    parser.add_argument("--frames", type=int, default=10, help="frames tracked when the project is built")
    parser.add_argument("--length", type=int, default=48, help="frames of the video shown (a readable timeline)")
    parser.add_argument("--scene", choices=(*SCENES, "all", "plain"), default="plain")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        sys.exit("no DISPLAY: run scripts/screenshot.sh (it starts Xvfb)")
    with tempfile.TemporaryDirectory(prefix="anymask-shot-") as tmp:
        tmp = Path(tmp)
        video = first_frames(args.video, tmp / "clip", args.length)
        checkpoint = random_checkpoint("sam2.1-tiny", tmp, present=True)
        build_project(video, checkpoint, args.frames)
        os.environ["ANYMASK_SETTINGS"] = str(tmp / "settings.ini")
        os.environ["QT_QPA_PLATFORM"] = "xcb"

        from PySide6.QtWidgets import QApplication

        from anymask.app.main_window import MainWindow
        from anymask.app.settings import AppSettings

        app = QApplication([sys.argv[0]])
        settings = AppSettings()
        settings.set_model(str(checkpoint), "auto", "cpu")
        settings.set_last_frame(str(video.resolve()), 5)
        window = MainWindow(settings)
        window.resize(1360, 860)
        window.move(0, 0)
        window.show()
        if not window.open_path(video):
            sys.exit(f"could not open {video}: {window.last_error}")
        wait(app, 5)
        if args.scene == "plain":
            grab(args.out)
        for name in SCENES if args.scene == "all" else [args.scene] if args.scene != "plain" else []:
            target = args.out / f"screenshot-{name}.png" if args.scene == "all" else args.out
            scene(name, app, window, target, tmp, args.video)
        window.close()


SCENES = ("marking", "tracking", "timeline", "images")


if __name__ == "__main__":
    main()
