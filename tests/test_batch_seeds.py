"""anymask batch's detection seeds: COCO, YOLO (Roboflow's layout too), MOT and Label Studio boxes as box
prompts on the keyframes, filtered by score and class."""

from __future__ import annotations

import json

import numpy as np
import pytest

from anymask.batch import read_manifest
from anymask.batch.seeds import seed_prompts
from anymask.errors import AnnotationFormatError


class FakeSource:
    def __init__(self, names, size=(100, 200)):
        self.names, self.size = names, size

    def __len__(self):
        return len(self.names)

    def frame_name(self, index):
        return self.names[index]

    def frame_size(self, index=0):
        return self.size


def seeds(tmp_path, kind, file, **more):
    entry = {"path": "v.mp4", "seeds": {"format": kind, "file": file, **more}}
    (tmp_path / "m.json").write_text(json.dumps({"videos": [entry]}))
    return read_manifest(tmp_path / "m.json")[0].seeds


def test_coco_seeds_by_file_name_score_and_class(tmp_path):
    source = FakeSource(["f0.jpg", "f1.jpg", "f2.jpg"])
    coco = {
        "images": [{"id": 7, "file_name": "frames/f0.jpg"}, {"id": 8, "file_name": "f2.jpg"}],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}],
        "annotations": [
            {"image_id": 7, "category_id": 1, "bbox": [10, 20, 30, 40], "score": 0.9},
            {"image_id": 7, "category_id": 2, "bbox": [150, 50, 80, 80], "score": 0.8},  # clipped to the image
            {"image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.2},  # below min_score
            {"image_id": 8, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9},  # not a keyframe
        ],
    }
    (tmp_path / "dets.json").write_text(json.dumps(coco))
    entries = seed_prompts(seeds(tmp_path, "coco", "dets.json"), source)
    assert [(e["id"], e["label"], e["frame"], e["box"]) for e in entries] == [
        (1, "car", 0, [10.0, 20.0, 40.0, 60.0]),
        (2, "person", 0, [150.0, 50.0, 200.0, 100.0]),
    ]
    only_cars = seed_prompts(seeds(tmp_path, "coco", "dets.json", classes=["car"], frames=[0, 2]), source)
    assert [(e["label"], e["frame"]) for e in only_cars] == [("car", 0), ("car", 2)]
    # a results list: image_id is the frame
    (tmp_path / "results.json").write_text(json.dumps([{"image_id": 1, "category_id": 3, "bbox": [1, 1, 9, 9]}]))
    (entry,) = seed_prompts(seeds(tmp_path, "coco", "results.json", frames=[1]), source)
    assert (entry["label"], entry["frame"], entry["box"]) == ("3", 1, [1.0, 1.0, 10.0, 10.0])
    with pytest.raises(AnnotationFormatError, match="no detection of class bus with score >= 0.5 on frame"):
        seed_prompts(seeds(tmp_path, "coco", "dets.json", classes=["bus"]), source)


def test_yolo_and_mot_seeds(tmp_path):
    source = FakeSource([f"{i:06d}.jpg" for i in range(3)])
    labels = tmp_path / "labels"
    labels.mkdir()
    (tmp_path / "data.yaml").write_text("names: [car, person]\n")
    (labels / "000000.txt").write_text("1 0.5 0.5 0.2 0.4\n0 0.25 0.25 0.1 0.1 0.3\n")
    (labels / "000001.txt").write_text("0 0.1 0.1 0.3 0.1 0.3 0.3\n")  # a polygon
    entries = seed_prompts(seeds(tmp_path, "yolo", "labels", frames=[0, 1]), source)
    assert [(e["label"], e["frame"]) for e in entries] == [("person", 0), ("car", 1)]
    assert np.allclose(entries[0]["box"], [80, 30, 120, 70]) and np.allclose(entries[1]["box"], [20, 10, 60, 30])
    roboflow = tmp_path / "roboflow" / "valid" / "labels"  # data.yaml two folders up
    roboflow.mkdir(parents=True)
    (tmp_path / "roboflow" / "data.yaml").write_text("nc: 2\nnames: ['bus', 'bike']\n")
    (roboflow / "000002.txt").write_text("1 0.5 0.5 0.2 0.4\n")
    (entry,) = seed_prompts(seeds(tmp_path, "yolo", "roboflow/valid/labels", frames=[2]), source)
    assert (entry["label"], entry["frame"]) == ("bike", 2)
    darknet = tmp_path / "darknet" / "obj_train_data"  # obj.names one folder up (CVAT's YOLO 1.1)
    darknet.mkdir(parents=True)
    (tmp_path / "darknet" / "obj.names").write_text("truck\nvan\n")
    (darknet / "000002.txt").write_text("1 0.5 0.5 0.2 0.4\n")
    (entry,) = seed_prompts(seeds(tmp_path, "yolo", "darknet/obj_train_data", frames=[2]), source)
    assert (entry["label"], entry["frame"]) == ("van", 2)
    (tmp_path / "mot").mkdir()
    (tmp_path / "mot" / "gt.txt").write_text("1,1,10,20,30,40,1,2,1.0\n1,2,0,0,5,5,0,1,1.0\n2,1,11,21,30,40,1,2,1.0\n")
    (tmp_path / "mot" / "labels.txt").write_text("car\nperson\n")
    (entry,) = seed_prompts(seeds(tmp_path, "mot", "mot/gt.txt"), source)
    assert (entry["label"], entry["frame"], entry["box"]) == ("person", 0, [10.0, 20.0, 40.0, 60.0])
    (tmp_path / "mot" / "bad.txt").write_text("1,1,10\n")
    with pytest.raises(AnnotationFormatError, match=r"bad.txt: line 1: expected frame, id"):
        seed_prompts(seeds(tmp_path, "mot", "mot/bad.txt"), source)


def test_label_studio_seeds_with_prediction_scores_and_video_tracks(tmp_path):
    source = FakeSource(["f0.jpg", "f1.jpg", "f2.jpg"])  # 100 x 200

    def region(kind, value, **extra):
        return {"type": kind, "from_name": "label", "to_name": "image", "value": value, **extra}

    box = {"x": 10, "y": 20, "width": 25, "height": 50}
    car = region("rectanglelabels", dict(box, rectanglelabels=["car"]))
    roof = region(
        "polygonlabels", {"points": [[0, 0], [50, 0], [50, 50], [0, 50]], "polygonlabels": ["roof"]}, score=0.9
    )
    tasks = [
        {"data": {"image": "/data/upload/1/0a1b2c3d-f0.jpg"}, "annotations": [{"result": [car]}]},
        # a prediction's score is its regions' unless they have their own: the car's 0.3 is below min_score
        {"data": {"image": "/data/local-files/?d=x/f1.jpg"}, "predictions": [{"score": 0.3, "result": [car, roof]}]},
    ]
    (tmp_path / "ls.json").write_text(json.dumps(tasks))
    entries = seed_prompts(seeds(tmp_path, "label-studio", "ls.json", frames=[0, 1]), source)
    assert [(e["label"], e["frame"], e["box"]) for e in entries] == [
        ("car", 0, [20.0, 20.0, 70.0, 70.0]),
        ("roof", 1, [0.0, 0.0, 100.0, 50.0]),
    ]
    sequence = [{"frame": 1, "enabled": True, "x": 0, "y": 0, "width": 50, "height": 50}]
    track = {"id": "t", "type": "videorectangle", "value": {"sequence": sequence, "labels": ["fish"]}}
    (tmp_path / "video.json").write_text(
        json.dumps([{"data": {"video": "v.mp4"}, "annotations": [{"result": [track]}]}])
    )
    (entry,) = seed_prompts(seeds(tmp_path, "label-studio", "video.json", frames=[2]), source)  # held to the end
    assert (entry["label"], entry["frame"], entry["box"]) == ("fish", 2, [0.0, 0.0, 100.0, 50.0])
