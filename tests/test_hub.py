"""Model registry, caches and the resumable download, against an HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import threading

import pytest
import torch

import anymask
from anymask.errors import AnymaskError, ModelDownloadError
from anymask.models import hub


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    payload = b""
    seen_ranges: list = []

    def do_GET(self):
        if self.path != "/model.pt":
            self.send_error(404)
            return
        start = 0
        header = self.headers.get("Range")
        self.seen_ranges.append(header)
        if header:
            start = int(header.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(self.payload) - 1}/{len(self.payload)}")
        else:
            self.send_response(200)
        body = self.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _RangeHandler.payload = bytes(range(256)) * 4096
    _RangeHandler.seen_ranges = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_and_resume(server, tmp_path):
    payload = _RangeHandler.payload
    target = tmp_path / "model.pt"
    partial = tmp_path / "model.pt.part"
    partial.write_bytes(payload[:100_000])
    digest = hashlib.sha256(payload).hexdigest()
    hub.download_file(f"{server}/model.pt", target, expected_sha256=digest, progress=False)
    assert target.read_bytes() == payload
    assert not partial.exists()
    assert _RangeHandler.seen_ranges[-1] == "bytes=100000-"


def test_progress_callback_cancels_and_the_next_try_resumes(server, tmp_path):
    payload = _RangeHandler.payload = bytes(range(256)) * 4096 * 3  # several download blocks
    target, seen = tmp_path / "model.pt", []

    def stop_after_first_block(done, total):
        seen.append((done, total))
        return False

    with pytest.raises(hub.DownloadCancelled, match="download cancelled"):
        hub.download_file(f"{server}/model.pt", target, progress=stop_after_first_block)
    assert seen[0][1] == len(payload) and not target.exists()
    kept = (tmp_path / "model.pt.part").stat().st_size
    assert 0 < kept < len(payload)
    hub.download_file(f"{server}/model.pt", target, progress=lambda done, total: True)
    assert target.read_bytes() == payload and _RangeHandler.seen_ranges[-1] == f"bytes={kept}-"


def test_checksum_mismatch_discards_download(server, tmp_path):
    target = tmp_path / "model.pt"
    with pytest.raises(ModelDownloadError, match="checksum mismatch"):
        hub.download_file(f"{server}/model.pt", target, expected_sha256="0" * 64, progress=False)
    assert not target.exists() and not (tmp_path / "model.pt.part").exists()


def test_git_object_id_checks_a_file_committed_to_git(server, tmp_path):
    """EdgeTAM's checkpoint has no published sha256, but git's object id of it is known; it is checked."""
    payload = _RangeHandler.payload
    blob_id = hashlib.sha1(b"blob %d\0" % len(payload) + payload).hexdigest()
    target = tmp_path / "edgetam.pt"
    hub.download_file(f"{server}/model.pt", target, progress=False, expected_git_blob=blob_id)
    assert target.read_bytes() == payload and hub.git_blob_sha1_of(target) == blob_id
    with pytest.raises(ModelDownloadError, match="git object id"):
        hub.download_file(f"{server}/model.pt", tmp_path / "bad.pt", progress=False, expected_git_blob="1" * 40)
    assert not (tmp_path / "bad.pt").exists() and not (tmp_path / "bad.pt.part").exists()


def test_edgetam_is_in_the_registry_with_its_official_location(tmp_path, monkeypatch):
    spec = hub.get_spec("EdgeTAM")
    assert spec is hub.get_spec("edgetam.pt") is hub.get_spec("edge_tam")
    assert spec.urls == ["https://github.com/facebookresearch/EdgeTAM/raw/main/checkpoints/edgetam.pt"]
    assert len(spec.git_blob_sha1) == 40 and "faster" in spec.summary
    monkeypatch.setenv("ANYMASK_HOME", str(tmp_path))
    monkeypatch.setenv("ANYMASK_OFFLINE", "1")
    with pytest.raises(ModelDownloadError, match="edgetam is not downloaded.*EdgeTAM/raw/main"):
        hub.ensure_checkpoint("edgetam")


def test_a_cached_checkpoint_is_checked_once_against_its_known_digest(tmp_path, monkeypatch):
    import dataclasses

    monkeypatch.setenv("ANYMASK_HOME", str(tmp_path))
    path = tmp_path / "checkpoints" / "edgetam.pt"
    path.parent.mkdir()
    path.write_bytes(b"not the checkpoint")
    with pytest.raises(
        ModelDownloadError, match=r"edgetam.pt: not the official edgetam checkpoint \(git object id"
    ) as exc:
        hub.ensure_checkpoint("edgetam")
    assert "\n" not in str(exc.value) and path.exists()  # the file is left for the person to judge
    spec = dataclasses.replace(hub.EDGETAM, git_blob_sha1=hub.git_blob_sha1_of(path))
    monkeypatch.setitem(hub.REGISTRY, "edgetam", spec)
    assert hub.ensure_checkpoint("edgetam") == path and path.with_name("edgetam.pt.verified").is_file()
    monkeypatch.setattr(hub, "git_blob_sha1_of", lambda p: pytest.fail("checked again"))
    assert hub.ensure_checkpoint("edgetam") == path  # remembered for this size and time


def test_offline_error_says_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("ANYMASK_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("ANYMASK_OFFLINE", "1")
    with pytest.raises(ModelDownloadError) as exc:
        hub.ensure_checkpoint("sam2.1-tiny")
    message = str(exc.value)
    assert "\n" not in message
    assert hub.REGISTRY["sam2.1-tiny"].url in message and str(tmp_path / "checkpoints") in message


def test_unreachable_server_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ANYMASK_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("ANYMASK_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    spec = hub.ModelSpec("sam2.1-tiny", "x.pt", "http://127.0.0.1:9/x.pt", "facebook/none", 1)
    monkeypatch.setitem(hub.REGISTRY, "sam2.1-tiny", spec)
    monkeypatch.setattr(hub.ModelSpec, "urls", property(lambda self: [self.url]))
    with pytest.raises(ModelDownloadError, match="could not download sam2.1-tiny"):
        hub.ensure_checkpoint("sam2.1-tiny", progress=False)


def test_name_spellings():
    assert hub.get_spec("SAM2.1_hiera_b+").name == "sam2.1-base_plus"
    assert hub.get_spec("sam2-base-plus").name == "sam2-base_plus"
    assert hub.get_spec("sam2.1_hiera_tiny.pt").name == "sam2.1-tiny"
    with pytest.raises(ModelDownloadError, match="unknown model"):
        hub.get_spec("sam3-huge")


def test_every_sam2_checkpoint_has_its_official_sha256():
    digests = {name: spec.sha256 for name, spec in hub.REGISTRY.items() if name != "edgetam"}
    assert len(digests) == 8 and len(set(digests.values())) == 8
    assert all(len(d) == 64 and int(d, 16) >= 0 for d in digests.values())
    assert digests["sam2.1-tiny"].startswith("7402e0d864fa") and digests["sam2-large"].startswith("7442e4e9b732")


def test_a_random_file_under_an_official_name_is_refused(own_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("ANYMASK_HOME", str(tmp_path))
    monkeypatch.setenv("ANYMASK_OFFLINE", "1")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "sam2.1_hiera_tiny.pt").write_bytes(own_checkpoint.read_bytes())
    with pytest.raises(ModelDownloadError, match=r"not the official sam2.1-tiny checkpoint \(sha256 "):
        anymask.load_model("sam2.1-tiny")
    anymask.load_model(tmp_path / "checkpoints" / "sam2.1_hiera_tiny.pt")  # a path is the person's own file


def test_a_hugging_face_blob_named_by_its_sha256_is_taken_as_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("ANYMASK_HOME", str(tmp_path / "home"))
    spec = hub.REGISTRY["sam2.1-tiny"]
    repo = tmp_path / "hf" / "models--facebook--sam2.1-hiera-tiny"
    (repo / "blobs").mkdir(parents=True)
    (repo / "snapshots" / "abc").mkdir(parents=True)
    (repo / "blobs" / spec.sha256).write_bytes(b"hashed by the hub")
    (repo / "snapshots" / "abc" / spec.filename).symlink_to(repo / "blobs" / spec.sha256)
    monkeypatch.setattr(hub, "sha256_of", lambda p: pytest.fail("hashed again"))
    assert hub.ensure_checkpoint("sam2.1-tiny") == repo / "snapshots" / "abc" / spec.filename


def test_load_model_from_our_cache_and_hf_cache(own_checkpoint, tmp_path, monkeypatch):
    import dataclasses

    spec = dataclasses.replace(hub.REGISTRY["sam2.1-tiny"], sha256=hub.sha256_of(own_checkpoint))
    monkeypatch.setitem(hub.REGISTRY, "sam2.1-tiny", spec)  # the random checkpoint stands in for the official
    monkeypatch.setenv("ANYMASK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("ANYMASK_OFFLINE", "1")
    snapshot = tmp_path / "hf_home" / "hub" / "models--facebook--sam2.1-hiera-tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "sam2.1_hiera_tiny.pt").write_bytes(own_checkpoint.read_bytes())
    model = anymask.load_model("sam2.1-tiny")
    assert model.config.name == "sam2.1-tiny"
    assert str(model.checkpoint_path).startswith(str(snapshot))
    ours = tmp_path / "home" / "checkpoints"
    ours.mkdir(parents=True)
    (ours / "sam2.1_hiera_tiny.pt").write_bytes(own_checkpoint.read_bytes())
    assert anymask.load_model("sam2.1-tiny").checkpoint_path == ours / "sam2.1_hiera_tiny.pt"


def test_load_model_by_path_with_precision(own_checkpoint):
    model = anymask.load_model(own_checkpoint, precision="bf16")
    assert model.precision == "bf16"
    assert model.image_encoder.trunk.patch_embed.proj.weight.dtype == torch.bfloat16
    assert model.sam_mask_decoder.iou_token.weight.dtype == torch.bfloat16
    assert model.sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix.dtype == torch.float32
    with pytest.raises(AnymaskError, match="precision"):
        anymask.load_model(own_checkpoint, precision="fp8")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_gpu_is_a_clear_error(own_checkpoint):
    with pytest.raises(AnymaskError, match="no CUDA GPU"):
        anymask.load_model(own_checkpoint, device="cuda")


def test_a_downloaded_checkpoint_is_hashed_once(server, tmp_path, monkeypatch):
    import dataclasses

    digest = hashlib.sha256(_RangeHandler.payload).hexdigest()
    spec = dataclasses.replace(hub.REGISTRY["sam2.1-tiny"], url=f"{server}/model.pt", sha256=digest)
    monkeypatch.setitem(hub.REGISTRY, "sam2.1-tiny", spec)
    monkeypatch.setattr(hub.ModelSpec, "urls", property(lambda self: [self.url]))
    monkeypatch.setenv("ANYMASK_HOME", str(tmp_path))
    monkeypatch.delenv("ANYMASK_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    hashed = []
    real = hub.sha256_of
    monkeypatch.setattr(hub, "sha256_of", lambda path: hashed.append(path) or real(path))
    path = hub.ensure_checkpoint("sam2.1-tiny", progress=False)
    assert path.read_bytes() == _RangeHandler.payload and len(hashed) == 1  # while downloading
    assert hub.ensure_checkpoint("sam2.1-tiny") == path and len(hashed) == 1  # remembered, not hashed again
