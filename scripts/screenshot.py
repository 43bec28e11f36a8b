"""Take a screenshot of the desktop app on a real X display (run it through scripts/screenshot.sh).

Usage: DISPLAY=:99 python scripts/screenshot.py OUT.png [--video tests/data/opencv/vtest.avi] [--frames 10]

Builds a project headlessly first (two objects marked on frame 0 and tracked with a random-weight
sam2.1-tiny checkpoint: no real weights can be downloaded here, so the masks are not meaningful), then
opens the real window on the video at frame 5 with the xcb platform and grabs the whole X screen with
ImageMagick's `import`, so the picture is what the X server shows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from anymask.bench import random_checkpoint  # noqa: E402


def build_project(video: Path, checkpoint: Path, frames: int) -> None:
    from anymask.session import Session

    with Session(video, model=checkpoint, precision="bf16") as session:
        session.add_box(380, 110, 440, 260)
        session.finish_object("person")
        session.add_point(620, 300)
        session.add_point(560, 120, positive=False)
        session.finish_object("walker")
        session.track("forward", end=frames - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--video", type=Path, default=ROOT / "tests" / "data" / "opencv" / "vtest.avi")
    parser.add_argument("--frames", type=int, default=10)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        sys.exit("no DISPLAY: run scripts/screenshot.sh (it starts Xvfb)")
    with tempfile.TemporaryDirectory(prefix="anymask-shot-") as tmp:
        tmp = Path(tmp)
        video = tmp / args.video.name
        shutil.copy(args.video, video)
        checkpoint = random_checkpoint("sam2.1-tiny", tmp, present=True)
        build_project(video, checkpoint, args.frames)
        os.environ["ANYMASK_SETTINGS"] = str(tmp / "settings.ini")
        os.environ["QT_QPA_PLATFORM"] = "xcb"

        from PySide6.QtWidgets import QApplication

        from anymask.app.main_window import MainWindow
        from anymask.app.settings import AppSettings

        app = QApplication([sys.argv[0]])
        settings = AppSettings()
        settings.set_model(str(checkpoint), "bf16", "cpu")
        settings.set_last_frame(str(video.resolve()), 5)
        window = MainWindow(settings)
        window.resize(1360, 860)
        window.move(0, 0)
        window.show()
        if not window.open_path(video):
            sys.exit(f"could not open {video}: {window.last_error}")
        deadline = time.time() + 5
        while time.time() < deadline:
            app.processEvents()
            time.sleep(0.05)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["import", "-window", "root", "-crop", "1360x860+0+0", str(args.out)], check=True)
        print(f"screenshot of {QApplication.platformName()} display {os.environ['DISPLAY']} written to {args.out}")
        window.close()


if __name__ == "__main__":
    main()
