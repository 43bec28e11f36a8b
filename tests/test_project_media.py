"""A project and its video: another video is refused before any work is done in the project; a project
whose video moved follows it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from anymask.cli import main
from anymask.errors import ProjectError
from anymask.project import ProjectStore
from anymask.session import Session

from conftest import write_clip


@pytest.fixture
def annotated(media_dir, tmp_path):
    """A 3-frame clip and its project, with a mask on frame 2."""
    clip = write_clip(media_dir, tmp_path / "clip", count=3, step=4)
    with ProjectStore.open(tmp_path / "project", clip) as store:
        store.put_mask(2, store.add_object("person"), np.ones((576, 768), bool))
    return clip, tmp_path / "project"


def _state(project):
    with ProjectStore.open(project) as store:
        return store.get_meta("media_path"), store.objects(), store.count_masks()


def test_another_video_is_refused_and_the_project_left_as_it_was(annotated, media_dir, tmp_path, capsys):
    clip, project = annotated
    before = _state(project)
    other = write_clip(media_dir, tmp_path / "other", count=3, step=5)
    with pytest.raises(ProjectError, match=f"belongs to {clip}, not {other}") as error:
        Session(other, project)
    assert "\n" not in str(error.value)
    assert _state(project) == before
    command = ["import", str(clip), "--format", "coco", "--media", str(other), "--project", str(project)]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "belongs to" in err and err.count("\n") == 1
    assert _state(project) == before


def test_a_copied_video_and_project_open_where_the_original_still_is(annotated, tmp_path):
    clip, project = annotated
    copy = shutil.copytree(clip, tmp_path / "elsewhere" / "clip")
    with Session(copy, shutil.copytree(project, tmp_path / "elsewhere" / "project")) as session:
        assert session.store.objects() == {1: "person"} and session.store.get_meta("media_path") == str(copy)


def test_a_moved_video_is_followed_where_its_frames_fit(annotated, media_dir, tmp_path):
    clip, project = annotated
    moved = tmp_path / "moved"
    shutil.move(clip, moved)
    with Session(moved, project) as session:
        assert session.store.objects() == {1: "person"}
    assert _state(project)[0] == str(moved.resolve())
    shutil.rmtree(moved)
    short = write_clip(media_dir, tmp_path / "short", count=2, step=4)  # the mask on frame 2 cannot fit
    with pytest.raises(ProjectError, match="do not fit .*short \\(768x576, 2 frames\\)"):
        Session(short, project)
    assert _state(project)[0] == str(moved.resolve())
