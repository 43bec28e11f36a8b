"""Another tool's numbered names for a video's frames (X-AnyLabeling's frame_00012.jpg, CVAT's frame_000012)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from ..errors import AnnotationFormatError
from .dataset import IMAGE_SUFFIXES, FrameInfo

NUMBERED = re.compile(r"^(.*?)(\d+)$")  # a prefix, then the number the frame was saved under


@dataclass(frozen=True)
class Numbering:
    """Images named `<prefix><n>`, extracted from a video every `step`-th frame: image n is frame n * step."""

    prefix: str
    step: int
    extracted: int | None  # how many such images were found (None: none)

    def note(self, example: str, count: int) -> str:
        every = "every frame" if self.step == 1 else f"one frame in {self.step}"
        seen = (
            f"{self.extracted} frame images found, {every} of the video"
            if self.extracted is not None
            else "no frame images found, so every frame of the video was assumed"
        )
        number = int(NUMBERED.match(PurePath(example).stem).group(2))
        return (
            f"matched {count} image name(s) to the video's frames by their numbers ({example} -> frame "
            f"{number * self.step}; {seen})"
        )


def _frames_by_number(
    names: list[str], folders: list[Path], frames: list[FrameInfo], where: Path
) -> tuple[list[FrameInfo], str] | None:
    """The video frame each image name (`<prefix><n>.<ext>`, one prefix for all) was extracted from, and a
    note saying how; None where the names are not so numbered.

    X-AnyLabeling saves a video's frames as `frame_00000.jpg`, `frame_00001.jpg`, ... (its prefix and
    digits can be changed), every frame or every k-th (its frame interval), and keeps the labels beside
    them; CVAT names a video task's frames `frame_000000` in its COCO, YOLO and VOC exports. How many such
    images lie in the first of `folders` that has some tells which: about the video's
    length, or about a k-th of it; none there: every frame."""
    found = [NUMBERED.match(PurePath(name).stem) for name in names]
    if not names or not all(found) or len({match.group(1) for match in found}) != 1:
        return None
    numbering = _numbering(found[0].group(1), folders, len(frames), where)
    matched = []
    for name, match in zip(names, found):
        index = int(match.group(2)) * numbering.step
        if index >= len(frames):
            raise AnnotationFormatError(
                f"{where}: {name} would be frame {index}, past this video's {len(frames)} frames; "
                "is it this video's? (or import with --media set to the folder of those frame images)"
            )
        matched.append(frames[index])
    return matched, numbering.note(names[0], len(names))


def _numbering(prefix: str, folders: list[Path], total: int, where: Path) -> Numbering:
    """How the images were extracted: the step that turns `total` video frames into the images found."""
    extracted = _extracted_count(folders, prefix)
    if extracted is None:
        return Numbering(prefix, 1, None)
    step = max(1, round(total / extracted))
    if abs(math.ceil(total / step) - extracted) > max(1, extracted // 100):
        raise AnnotationFormatError(
            f"{where}: the {extracted} images {prefix}<n> found are neither every frame nor every "
            f"k-th frame of this {total}-frame video; import with --media set to the folder of those images"
        )
    return Numbering(prefix, step, extracted)


def _extracted_count(folders: list[Path], prefix: str) -> int | None:
    """1 + the highest n of the images `<prefix><n>.<image suffix>` in the first of `folders` holding any;
    None where none does."""
    for folder in folders:
        numbers = [
            int(match.group(2))
            for path in (folder.iterdir() if folder.is_dir() else ())
            if path.suffix.lower() in IMAGE_SUFFIXES
            and (match := NUMBERED.match(path.stem)) is not None
            and match.group(1) == prefix
        ]
        if numbers:
            return 1 + max(numbers)
    return None


def match_frames(
    names: list[str], found: list[FrameInfo | None], frames: list[FrameInfo], folders: list[Path], where: Path
) -> tuple[list[FrameInfo | None], list[str]]:
    """The frames `found` for `names` by name and the notes to report; where none was found, the frames
    their numbers say (see _frames_by_number)."""
    if any(frame is not None for frame in found):
        return found, []
    numbered = _frames_by_number(names, folders, frames, where)
    return (found, []) if numbered is None else (list(numbered[0]), [numbered[1]])
