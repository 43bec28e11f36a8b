"""The `anymask` command: model listing and one-line errors with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "anymask.cli", *args], capture_output=True, text=True, env=env)


def _env(tmp_path, **extra):
    import os

    env = dict(os.environ, ANYMASK_HOME=str(tmp_path), HF_HUB_CACHE=str(tmp_path / "hf"), **extra)
    return env


def test_models_lists_all_variants(tmp_path):
    result = run("models", env=_env(tmp_path))
    assert result.returncode == 0
    for name in ("edgetam", "sam2-tiny", "sam2.1-large", "sam2.1-base_plus"):
        assert name in result.stdout
    assert "not downloaded" in result.stdout and "fastest" in result.stdout  # EdgeTAM's trade-off
    assert "CPU capability " in result.stdout and "precision " in result.stdout and " (auto): " in result.stdout


def test_models_shows_cached(tmp_path, own_checkpoint):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "sam2.1_hiera_tiny.pt").write_bytes(own_checkpoint.read_bytes())
    result = run("models", env=_env(tmp_path))
    line = next(row for row in result.stdout.splitlines() if row.startswith("sam2.1-tiny"))
    assert "cached at" in line


def test_offline_download_is_one_line_error(tmp_path):
    result = run("models", "--download", "sam2.1-tiny", env=_env(tmp_path, ANYMASK_OFFLINE="1"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "anymask: error:" in result.stderr and "sam2.1_hiera_tiny.pt" in result.stderr


def test_unknown_model_name(tmp_path):
    result = run("models", "--download", "sam9-giant", env=_env(tmp_path))
    assert result.returncode == 2 and "unknown model" in result.stderr


def test_gui_without_a_display_is_one_line(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["ANYMASK_SETTINGS"] = str(tmp_path / "gui.ini")
    result = run("gui", env=env)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "no display found" in result.stderr and "QT_QPA_PLATFORM=offscreen" in result.stderr
