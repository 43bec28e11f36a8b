"""ModelChoice: which model the app uses, whether it is downloaded or loaded, and getting it (with a dialog)."""

from __future__ import annotations

from pathlib import Path

from ..errors import AnymaskError
from ..models.hub import REGISTRY, find_cached, get_spec
from .dialogs import DownloadDialog
from .settings import AppSettings


def precision_label(model: dict) -> str:
    """'auto: fp32' (what auto resolves to on the chosen device), or the explicit precision."""
    if model["precision"] != "auto":
        return model["precision"]
    from ..models.precision import resolve_precision

    try:
        return f"auto: {resolve_precision('auto', model['device']).precision}"
    except (AnymaskError, RuntimeError):  # a device name torch does not know: the model dialog says why
        return "auto"


def is_name(spec: str) -> bool:
    return spec in REGISTRY or spec.lower() in REGISTRY


class ModelChoice:
    """The remembered model (settings) and the steps to make it usable: a download for a name not cached."""

    def __init__(self, settings: AppSettings, parent_widget) -> None:
        self.settings, self.parent = settings, parent_widget

    def state(self, loaded: bool) -> str:
        """'loaded', 'downloaded', 'not downloaded' or 'file missing', for the model button."""
        spec = self.settings.model()["spec"]
        if loaded:
            return "loaded"
        if is_name(spec):
            return "downloaded" if find_cached(get_spec(spec)) is not None else "not downloaded"
        return "downloaded" if Path(spec).is_file() else "file missing"

    def button_text(self, loaded: bool) -> str:
        model = self.settings.model()
        return f"Model: {Path(model['spec']).name} ({precision_label(model)}, {model['device']}) — {self.state(loaded)}"

    def obtain(self, choice: dict) -> str | None:
        """Make `choice` usable (download a name with a progress dialog); None, or why it cannot be used."""
        spec = choice["spec"]
        if not spec:
            return "choose a model or a checkpoint file"
        if is_name(spec):
            if find_cached(get_spec(spec)) is None:
                download = DownloadDialog(spec, self.parent)
                download.start()
                if not download.exec():
                    return download.error or f"{spec}: download cancelled"
            return None
        if not Path(spec).is_file():
            return f"{spec}: no such checkpoint file"
        return None

    def remember(self, choice: dict) -> None:
        self.settings.set_model(choice["spec"], choice["precision"], choice["device"])
