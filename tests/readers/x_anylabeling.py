"""Read anymask's exports with X-AnyLabeling's own code (its label file loader and its converters);
prints one JSON object of findings.

Run with a Python that has x-anylabeling-cvhub (scripts/readers_venv.sh builds build/x-anylabeling-venv):
`python x_anylabeling.py JOB FOLDER [CLASSES_FILE OUT_FOLDER]`, JOB one of
- open: every label file in FOLDER loaded as X-AnyLabeling loads it (label, shape type, group id, points);
- to-mot: FOLDER's label files through its MOT export (custom_to_mot) into OUT_FOLDER;
- from-mot: FOLDER, a MOT sequence, through its MOT upload (mot_to_custom) onto a copy of FOLDER/img1 in
  OUT_FOLDER, where it writes the label files; they are loaded;
- to-yolo-seg, to-yolo-hbb: FOLDER's label files through its YOLO export (custom_to_yolo) into OUT_FOLDER;
- from-yolo-seg, from-yolo-hbb: FOLDER, a YOLO dataset, through its YOLO upload (yolo_to_custom) onto a copy of
  FOLDER/images/train in OUT_FOLDER; the label files it writes there are loaded;
- to-coco: FOLDER's label files through its COCO export (custom_to_coco, polygons) into OUT_FOLDER.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import warnings
from pathlib import Path


def shapes_of(folder: Path) -> dict:
    from anylabeling.views.labeling.label_file import LabelFile

    found = {}
    for path in sorted(folder.glob("*.json")):
        label_file = LabelFile(str(path))
        found[path.name] = [
            (s.label, s.shape_type, s.group_id, [[float(p.x()), float(p.y())] for p in s.points])
            for s in label_file.shapes
        ]
    return found


def main() -> None:
    warnings.filterwarnings("ignore")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from anylabeling.views.labeling.label_converter import LabelConverter

    job, folder = sys.argv[1], Path(sys.argv[2])
    if job == "open":
        found = {"files": shapes_of(folder)}
    elif job == "to-mot":
        classes, out = sys.argv[3], Path(sys.argv[4])
        out.mkdir(parents=True, exist_ok=True)
        LabelConverter(classes_file=classes).custom_to_mot(str(folder), str(out))
        found = {"written": sorted(p.name for p in out.iterdir())}
    elif job == "from-mot":
        classes, out = sys.argv[3], Path(sys.argv[4])
        shutil.copytree(folder / "img1", out)  # X-AnyLabeling writes the labels beside the images it has open
        LabelConverter(classes_file=classes).mot_to_custom(str(folder / "gt" / "gt.txt"), str(out), str(out))
        found = {"files": shapes_of(out)}
    elif job in ("to-yolo-seg", "to-yolo-hbb"):
        classes, out = sys.argv[3], Path(sys.argv[4])
        out.mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.glob("*.json")):
            converter = LabelConverter(classes_file=classes)
            converter.custom_to_yolo(str(path), str(out / f"{path.stem}.txt"), job.rsplit("-", 1)[1])
        found = {"written": sorted(p.name for p in out.iterdir())}
    elif job in ("from-yolo-seg", "from-yolo-hbb"):
        classes, out = sys.argv[3], Path(sys.argv[4])
        shutil.copytree(folder / "images" / "train", out)
        for path in sorted((folder / "labels" / "train").glob("*.txt")):
            image = out / f"{path.stem}.jpg"
            converter = LabelConverter(classes_file=classes)
            converter.yolo_to_custom(str(path), str(out / f"{path.stem}.json"), str(image), job.rsplit("-", 1)[1])
        found = {"files": shapes_of(out)}
    elif job == "to-coco":
        classes, out = sys.argv[3], Path(sys.argv[4])
        out.mkdir(parents=True, exist_ok=True)
        images = [str(path) for path in sorted(folder.glob("*.jpg"))]
        LabelConverter(classes_file=classes).custom_to_coco(images, str(folder), str(out), "polygon")
        found = {"written": sorted(p.name for p in out.iterdir())}
    else:
        raise SystemExit(f"unknown job {job}")
    print("READ_BACK " + json.dumps(found))


if __name__ == "__main__":
    main()
