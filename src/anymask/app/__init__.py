"""anymask.app: the PySide6 desktop app, a thin shell over anymask.session.Session."""

from __future__ import annotations

import sys


def run_app(
    path: str | None = None, model: str | None = None, precision: str | None = None, device: str | None = None
) -> int:
    """Open the main window (and `path`, if given); returns the app's exit status."""
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .settings import AppSettings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("anymask")
    settings = AppSettings()
    if model or precision or device:  # given on the command line: remembered; otherwise the last choice stays
        current = settings.model()
        settings.set_model(model or current["spec"], precision or current["precision"], device or current["device"])
    window = MainWindow(settings)
    window.show()
    if path:
        window.open_path(path)
    return app.exec()


__all__ = ["run_app"]
