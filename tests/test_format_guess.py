"""The format a path looks like: named at the end of a refused import's line and taken by the app's import
dialog (`anymask import` without --format: test_import_command); exports read back from the path `export`
returns."""

from __future__ import annotations

import pytest

from anymask.errors import AnnotationFormatError
from anymask.formats import import_annotations

from import_support import FRAMES, refused, small_dataset, write

EXPORTED_AS = {
    "coco": "coco",
    "voc": "voc",
    "mot": "mot",
    "mots": "mots",
    "cvat": "cvat",
    "davis": "davis",
    "yolo-seg": "yolo",
    "youtube-vis": "youtube-vis",
    "xanylabeling": "xanylabeling",
    "label-studio": "label-studio",
}


def test_an_export_given_to_the_wrong_importer_names_the_right_one(tmp_path):
    from anymask.formats import IMPORT_FORMATS, export_dataset, guess_format

    dataset = small_dataset()
    for export_name, right in EXPORTED_AS.items():
        written = export_dataset(dataset, export_name, tmp_path / export_name)
        for picked in (written, tmp_path / export_name):  # what export returns, and the folder a user picks
            assert guess_format(picked) == right, (export_name, picked)
            assert import_annotations(right, picked, dataset.frames).instances, (export_name, picked)
            for wrong in set(IMPORT_FORMATS) - {right, "labelme" if right == "xanylabeling" else right}:
                with pytest.raises(AnnotationFormatError, match=f"import it as {right}$") as exc:
                    import_annotations(wrong, picked, dataset.frames)
                assert "\n" not in str(exc.value), (export_name, wrong)


def test_a_damaged_file_of_the_chosen_format_gets_no_hint(tmp_path):
    document = '{"images": [], "annotations": [], "categories": {}}'
    with pytest.raises(AnnotationFormatError) as exc:
        import_annotations("coco", write(tmp_path / "bad.json", document), FRAMES)
    assert "categories: expected a list" in str(exc.value) and "looks like" not in str(exc.value)


@pytest.mark.parametrize(
    "name, text, guess",
    [
        ("a.json", '{"version": "5.4.1", "flags": {}, "shapes": [], "imagePath": "a.jpg"}', "xanylabeling"),
        ("a.json", '{"info": {}, "images": [], "annotations": [], "categories": []}', "coco"),
        ("a.json", '[{"image_id": 0, "category_id": 1, "bbox": [0, 0, 1, 1]}]', None),
        ("a.json", '{"videos": [], "annotations": [{"segmentations": []}]}', "youtube-vis"),
        ("a.json", '[{"id": 1, "data": {"image": "a.jpg"}, "annotations": [], "predictions": []}]', "label-studio"),
        (
            "a.json",
            '[{"data": {"image": "a.jpg"}, "predictions": [{"result": [{"from_name": "l", "to_name": "i"}]}]}]',
            "label-studio",
        ),
        ("a.xml", '<?xml version="1.0"?>\n<!-- CVAT -->\n<annotations><version>1.1</version></annotations>', "cvat"),
        ("a.xml", "<annotation><filename>a.jpg</filename></annotation>", "voc"),
        ("gt.txt", "1,1,10,10,5,5,1,1,1\n", "mot"),
        ("gt.txt", "1 2001 2 375 1242 WSV:2d;1O10000O\n", "mots"),
        ("a.txt", "0 0.5 0.5 0.2 0.2\n", None),
        ("data.yaml", "names: [a]\n", "yolo"),
        ("a.png", "", None),
    ],
)
def test_guessing_a_foreign_file_reads_only_its_head(tmp_path, name, text, guess):
    from anymask.formats import guess_format

    path = write(tmp_path / name, text)
    assert guess_format(path) == guess
    assert guess_format(tmp_path / "missing.json") is None


def test_the_import_dialog_switches_to_the_format_a_chosen_path_looks_like(qtbot, tmp_path):
    pytest.importorskip("PySide6")
    from anymask.app.dialogs import ImportDialog
    from anymask.formats import export_dataset

    dialog = ImportDialog(tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.format.currentText() == "xanylabeling"
    dialog.path.setText(str(export_dataset(small_dataset(), "cvat", tmp_path / "cvat")))
    dialog.path.editingFinished.emit()
    assert dialog.choice() == ("cvat", tmp_path / "cvat" / "annotations.xml")
    dialog.format.setCurrentText("labelme")
    dialog.path.setText(str(export_dataset(small_dataset(), "xanylabeling", tmp_path / "x")))
    dialog.path.editingFinished.emit()
    assert dialog.format.currentText() == "labelme"  # the same importer: the user's choice stays
    dialog.path.setText(str(tmp_path / "nothing here"))
    dialog.path.editingFinished.emit()
    assert dialog.format.currentText() == "labelme"


def test_one_label_file_imports_and_misnamed_or_undecodable_files_are_one_line(tmp_path):
    from anymask.formats import export_dataset

    dataset = small_dataset()
    folder = export_dataset(dataset, "xanylabeling", tmp_path / "x")
    one = import_annotations("labelme", folder / "f001.json", dataset.frames)
    assert list(one.instances) == [1] and one.on(1)[0].mask.sum() == 400
    voc = export_dataset(dataset, "voc", tmp_path / "voc") / "Annotations" / "f000.xml"
    refused("cvat", voc, dataset.frames, "not CVAT XML \\(its root is <annotation>")
    yolo = export_dataset(dataset, "yolo-seg", tmp_path / "yolo").parent
    label = next((yolo / "labels").rglob("*.txt"))
    label.write_bytes(b"0 0.5 \xff\n")
    with pytest.raises(AnnotationFormatError, match="not UTF-8 text") as exc:
        import_annotations("yolo", yolo, dataset.frames)
    assert str(label) in str(exc.value)
