"""Bad checkpoint files give one-line CheckpointErrors naming the file; good ones load strictly."""

from __future__ import annotations

import pickle

import pytest
import torch

from anymask.errors import CheckpointError
from anymask.sam2 import load_checkpoint


def _one_line(exc: pytest.ExceptionInfo, path) -> str:
    message = str(exc.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_loads_own_checkpoint_and_infers_variant(own_checkpoint):
    model = load_checkpoint(own_checkpoint)
    assert model.config.name == "sam2.1-tiny"
    assert not model.training


def test_truncated_file(own_checkpoint, tmp_path):
    data = own_checkpoint.read_bytes()
    broken = tmp_path / "truncated.pt"
    broken.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(broken)
    assert "truncated" in _one_line(exc, broken)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(tmp_path / "nope.pt")
    assert "not found" in _one_line(exc, tmp_path / "nope.pt")


def test_text_file(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello")
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    _one_line(exc, path)


def test_foreign_state_dict(tmp_path):
    path = tmp_path / "resnet.pt"
    torch.save({"model": {"conv1.weight": torch.zeros(3, 3)}}, path)
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    assert "not a SAM 2 or EdgeTAM checkpoint" in _one_line(exc, path)


def test_missing_and_extra_keys(own_checkpoint, tmp_path):
    state = torch.load(own_checkpoint, weights_only=True)["model"]
    del state["sam_mask_decoder.iou_token.weight"]
    state["something.extra"] = torch.zeros(1)
    path = tmp_path / "edited.pt"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    message = _one_line(exc, path)
    assert "missing keys sam_mask_decoder.iou_token.weight" in message and "something.extra" in message


class _Evil:
    def __reduce__(self):
        return (print, ("pickled code ran",))


def test_pickled_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"model": {"x": torch.zeros(1)}, "payload": _Evil()}, path, pickle_protocol=pickle.DEFAULT_PROTOCOL)
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    assert "pickled code" in _one_line(exc, path)
    assert "pickled code ran" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "damage, fragment",
    [
        (lambda state: state.update({7: torch.zeros(1)}), "a state dict key is int"),
        (lambda state: state.update({"sam_mask_decoder.iou_token.weight": "weights"}), "holds a str, not a tensor"),
        (lambda state: state.update({"sam_mask_decoder.iou_token.weight": 3}), "holds a int, not a tensor"),
        (lambda state: state["sam_mask_decoder.iou_token.weight"].view(-1)[5].fill_(float("nan")), "NaN or infinite"),
        (lambda state: state["image_encoder.neck.convs.0.conv.bias"].fill_(float("inf")), "NaN or infinite"),
    ],
)
def test_state_dicts_with_wrong_keys_values_or_non_finite_weights(own_checkpoint, tmp_path, damage, fragment):
    state = torch.load(own_checkpoint, weights_only=True)["model"]
    damage(state)
    path = tmp_path / "damaged.pt"
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    assert fragment in _one_line(exc, path)
