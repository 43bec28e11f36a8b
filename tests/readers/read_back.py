"""Read an anymask export back with the ecosystem's own readers; prints one JSON object of findings.

Run with a Python that has the readers (datumaro, trackeval, labelme, label-studio-converter):
`python read_back.py READER FOLDER [OUT]` (OUT for datumaro-convert:A>B, which writes FOLDER as B there).
tests/test_readers.py runs it in the readers' venv (scripts/readers_venv.sh) and checks the findings.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path


def datumaro(folder: Path, format_name: str) -> dict:
    import datumaro as dm

    dataset = dm.Dataset.import_from(str(folder), format_name)
    labels = [label.name for label in dataset.categories()[dm.AnnotationType.label]]
    shapes = {}
    for item in dataset:
        for annotation in item.annotations:
            if annotation.type == dm.AnnotationType.bbox and format_name == "coco_instances":
                continue  # Datumaro adds a box beside each COCO segmentation
            if annotation.attributes.get("outside"):
                continue
            key = f"{annotation.type.name}:{annotation.attributes.get('track_id')}:{labels[annotation.label]}"
            shapes[key] = shapes.get(key, 0) + 1
    return {"items": len(dataset), "labels": labels, "shapes": shapes}


def trackeval_hota(folder: Path, kind: str) -> dict:
    """HOTA of the export scored against itself (gt as tracker output) with TrackEval's MOT/MOTS rules."""
    import numpy as np

    for name, alias in (("float", float), ("int", int)):  # names older TrackEval releases still use
        if not hasattr(np, name):
            setattr(np, name, alias)
    import trackeval

    sequence = next(p for p in folder.iterdir() if (p / "gt" / "gt.txt").is_file())
    with tempfile.TemporaryDirectory() as work:
        trackers = Path(work) / "trackers" / "self" / "data"
        trackers.mkdir(parents=True)
        box = kind == "mot"
        rows = (sequence / "gt" / "gt.txt").read_text().splitlines()
        if box:  # a MOT tracker file has no classes: its boxes are pedestrians (class 1 in the gt)
            rows = [row for row in rows if row.split(",")[7] == "1"]
        (trackers / f"{sequence.name}.txt").write_text("".join(f"{row}\n" for row in rows))
        dataset_class = trackeval.datasets.MotChallenge2DBox if box else trackeval.datasets.MOTSChallenge
        config = dataset_class.get_default_dataset_config()
        config.update(
            GT_FOLDER=str(folder),
            TRACKERS_FOLDER=str(Path(work) / "trackers"),
            SKIP_SPLIT_FOL=True,
            SEQ_INFO={sequence.name: None},
            TRACKERS_TO_EVAL=["self"],
            PRINT_CONFIG=False,
        )
        evaluator = trackeval.Evaluator(
            {
                **trackeval.Evaluator.get_default_eval_config(),
                "PRINT_RESULTS": False,
                "PRINT_CONFIG": False,
                "OUTPUT_SUMMARY": False,
                "OUTPUT_DETAILED": False,
                "PLOT_CURVES": False,
                "USE_PARALLEL": False,
                "PRINT_ONLY_COMBINED": True,
                "TIME_PROGRESS": False,
                "OUTPUT_EMPTY_CLASSES": False,
            }
        )
        metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(), trackeval.metrics.Identity()]
        results, messages = evaluator.evaluate([dataset_class(config)], metrics)
    dataset_name = next(iter(results))
    per_class = results[dataset_name]["self"][sequence.name]
    class_name = "pedestrian"
    found = per_class[class_name]
    return {
        "message": messages[dataset_name]["self"],
        "HOTA": float(np.mean(found["HOTA"]["HOTA"])),
        "MOTA": float(found["CLEAR"]["MOTA"]),
        "IDF1": float(found["Identity"]["IDF1"]),
    }


def labelme(folder: Path) -> dict:
    from labelme import LabelFile

    files = {}
    for path in sorted(folder.glob("*.json")):
        label_file = LabelFile(str(path))
        files[path.name] = [
            (s["label"], s["shape_type"], s.get("group_id"), len(s["points"])) for s in label_file.shapes
        ]
    return {"files": files}


def label_studio(folder: Path) -> dict:
    """Label Studio's own converter (label-studio-converter) turns the tasks into COCO; brush masks are
    decoded with its brush module. Per image file: (category, bbox, segmentation) and brush pixel counts."""
    import numpy as np
    from label_studio_converter import Converter
    from label_studio_converter.brush import decode_rle

    tasks = json.loads((folder / "tasks.json").read_text())
    brushes = {}
    for task in tasks:
        for result in task["annotations"][0]["result"]:
            if result["type"] == "brushlabels":
                shape = (result["original_height"], result["original_width"], 4)
                alpha = np.reshape(decode_rle(result["value"]["rle"]), shape)[:, :, 3] > 0
                ys, xs = np.nonzero(alpha)
                box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
                brushes.setdefault(task["data"]["image"], []).append((result["id"], int(alpha.sum()), box))
    if brushes:
        return {"brushes": brushes}
    with tempfile.TemporaryDirectory() as work:
        converter = Converter((folder / "label_config.xml").read_text(), project_dir=str(folder))
        converter.convert_to_coco(str(folder / "tasks.json"), work, is_dir=False)
        coco = json.loads((Path(work) / "result.json").read_text())
    names = {category["id"]: category["name"] for category in coco["categories"]}
    files = {image["id"]: image["file_name"] for image in coco["images"]}
    found = {}
    for annotation in coco["annotations"]:
        shape = (names[annotation["category_id"]], annotation["bbox"], annotation.get("segmentation") or [])
        found.setdefault(files[annotation["image_id"]], []).append(shape)
    return {"images": found}


def datumaro_convert(folder: Path, formats: str, out: Path) -> dict:
    """FOLDER read as Datumaro's format A and written as its format B into OUT (`A>B`), images included."""
    import datumaro as dm

    source, target = formats.split(">")
    dm.Dataset.import_from(str(folder), source).export(str(out), target, save_media=True)
    return {"written": sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())}


def main() -> None:
    warnings.filterwarnings("ignore")
    reader, folder = sys.argv[1], Path(sys.argv[2])
    if reader.startswith("datumaro-convert:"):
        found = datumaro_convert(folder, reader.split(":", 1)[1], Path(sys.argv[3]))
    elif reader.startswith("datumaro:"):
        found = datumaro(folder, reader.split(":", 1)[1])
    elif reader.startswith("trackeval:"):
        found = trackeval_hota(folder, reader.split(":", 1)[1])
    elif reader == "labelme":
        found = labelme(folder)
    elif reader == "label-studio":
        found = label_studio(folder)
    else:
        raise SystemExit(f"unknown reader {reader}")
    print("READ_BACK " + json.dumps(found))


if __name__ == "__main__":
    main()
