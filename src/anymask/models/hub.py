"""Where official checkpoints come from and live: the registry of names, the caches, a resumable download."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelDownloadError
from ..sam2.config import VARIANTS, normalize_variant_name

SAM2_URL_BASE = "https://dl.fbaipublicfiles.com/segment_anything_2/072824"
SAM21_URL_BASE = "https://dl.fbaipublicfiles.com/segment_anything_2/092824"
HF_URL = "https://huggingface.co/{repo_id}/resolve/main/{filename}"
CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelSpec:
    """One official checkpoint: our name, its file name, the official URL and the Hugging Face repo."""

    name: str
    filename: str
    url: str
    hf_repo_id: str | None  # None: no Hugging Face repo holds the file in its official format
    approx_mb: int
    sha256: str | None = None  # checked when known
    git_blob_sha1: str | None = None  # a file committed to the official git repo: its object id, checked
    summary: str = ""  # one line on its trade-off, shown where a model is chosen

    @property
    def urls(self) -> list[str]:
        if self.hf_repo_id is None:
            return [self.url]
        return [self.url, HF_URL.format(repo_id=self.hf_repo_id, filename=self.filename)]


def _spec(name: str, approx_mb: int, sha256: str) -> ModelSpec:
    config = VARIANTS[name]
    version_tag = "sam2.1" if config.version == "2.1" else "sam2"
    size_words = config.size.replace("_", "-")
    filename = f"{version_tag}_hiera_{config.size}.pt"
    base = SAM21_URL_BASE if config.version == "2.1" else SAM2_URL_BASE
    hf_repo_id = f"facebook/{version_tag}-hiera-{size_words}"
    return ModelSpec(name, filename, f"{base}/{filename}", hf_repo_id, approx_mb, sha256=sha256)


# EdgeTAM's checkpoint is committed to its GitHub repo (not Git LFS, so no sha256 is published); the
# object id git gives it there is a SHA-1 over the file's bytes, checked after a download.
EDGETAM = ModelSpec(
    "edgetam",
    "edgetam.pt",
    "https://github.com/facebookresearch/EdgeTAM/raw/main/checkpoints/edgetam.pt",
    None,
    54,
    git_blob_sha1="abd54d22bbd22ba3e53cf59a307e59e0f3701be6",
    summary="fastest: several times faster than sam2.1-tiny, somewhat less accurate than SAM 2.1",
)

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        EDGETAM,
        # The sha256 of each official file, the same bytes at dl.fbaipublicfiles.com and on Hugging Face
        # (where it is the Git LFS object id); checked on download and on first use.
        _spec("sam2-tiny", 149, "65b50056e05bcb13694174f51bb6da89c894b57b75ccdf0ba6352c597c5d1125"),
        _spec("sam2-small", 176, "95949964d4e548409021d47b22712d5f1abf2564cc0c3c765ba599a24ac7dce3"),
        _spec("sam2-base_plus", 309, "d0bb7f236400a49669ffdd1be617959a8b1d1065081789d7bbff88eded3a8071"),
        _spec("sam2-large", 857, "7442e4e9b732a508f80e141e7c2913437a3610ee0c77381a66658c3a445df87b"),
        _spec("sam2.1-tiny", 149, "7402e0d864fa82708a20fbd15bc84245c2f26dff0eb43a4b5b93452deb34be69"),
        _spec("sam2.1-small", 176, "6d1aa6f30de5c92224f8172114de081d104bbd23dd9dc5c58996f0cad5dc4d38"),
        _spec("sam2.1-base_plus", 309, "a2345aede8715ab1d5d31b4a509fb160c5a4af1970f199d9054ccfb746c004c5"),
        _spec("sam2.1-large", 857, "2647878d5dfa5098f2f8649825738a9345572bae2d4350a2468587ece47dd318"),
    )
}


def get_spec(name: str) -> ModelSpec:
    key = normalize_variant_name(name)
    if key not in REGISTRY:
        raise ModelDownloadError(f"unknown model {name!r}; choose one of {', '.join(REGISTRY)} or give a .pt file")
    return REGISTRY[key]


def cache_dir() -> Path:
    """`$ANYMASK_HOME/checkpoints`, else `$XDG_CACHE_HOME/anymask/checkpoints` (default ~/.cache)."""
    if os.environ.get("ANYMASK_HOME"):
        return Path(os.environ["ANYMASK_HOME"]).expanduser() / "checkpoints"
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser()
    return base / "anymask" / "checkpoints"


def hf_hub_cache_dir() -> Path:
    """The Hugging Face hub cache, honouring HF_HUB_CACHE and HF_HOME as huggingface_hub does."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    hf_home = (
        os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "huggingface"
    )
    return Path(hf_home).expanduser() / "hub"


def find_cached(spec: ModelSpec) -> Path | None:
    """A checkpoint already on disk: our cache first, then any snapshot in the Hugging Face hub cache."""
    ours = cache_dir() / spec.filename
    if ours.is_file():
        return ours
    if spec.hf_repo_id is None:
        return None
    repo_folder = hf_hub_cache_dir() / ("models--" + spec.hf_repo_id.replace("/", "--")) / "snapshots"
    if repo_folder.is_dir():
        for snapshot in sorted(repo_folder.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True):
            candidate = snapshot / spec.filename
            if candidate.is_file():
                return candidate
    return None


def is_offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("ANYMASK_OFFLINE", "HF_HUB_OFFLINE"))


def sha256_of(path: Path) -> str:
    return _digest(path, hashlib.sha256())


def git_blob_sha1_of(path: Path) -> str:
    """The object id git gives the file's contents: SHA-1 of `blob <size>\\0` followed by the bytes."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    return _digest(path, digest)


def _digest(path: Path, digest) -> str:
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class DownloadCancelled(ModelDownloadError):
    """The progress callback asked to stop; the `.part` file is kept so the next try resumes."""


def download_file(
    url: str,
    target: Path,
    expected_sha256: str | None = None,
    progress=True,
    timeout: float = 30.0,
    expected_git_blob: str | None = None,
) -> Path:
    """Download `url` to `target`, resuming a previous `.part` file; verify sha256 (or the git object id)
    when given; atomic rename.

    `progress`: True for a tqdm bar, False for none, or a callable (bytes done, total or None) -> bool that
    returns False to cancel.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "anymask"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the partial file is already complete
            response = None
        else:
            raise
    if response is not None:
        with response:
            if have and response.status != 206:
                have = 0  # the server ignored the range: start again
            total = response.headers.get("Content-Length")
            total = int(total) + have if total is not None else None
            report = progress if callable(progress) else None
            bar = _progress_bar(total, have, target.name) if progress is True else None
            with open(partial, "ab" if have else "wb") as handle:
                done = have
                for block in iter(lambda: response.read(CHUNK), b""):
                    handle.write(block)
                    done += len(block)
                    if bar is not None:
                        bar.update(len(block))
                    if report is not None and report(done, total) is False:
                        raise DownloadCancelled(
                            f"{url}: download cancelled at {done} bytes; "
                            f"{partial} is kept and the next download resumes it"
                        )
                handle.flush()
                os.fsync(handle.fileno())
            if bar is not None:
                bar.close()
    for kind, expected, compute in _digest_checks(expected_sha256, expected_git_blob):
        if (actual := compute(partial)) != expected:
            partial.unlink(missing_ok=True)
            raise ModelDownloadError(
                f"{url}: checksum mismatch ({kind} {actual[:12]}…, expected {expected[:12]}…); download discarded"
            )
    os.replace(partial, target)
    return target


def _digest_checks(sha256: str | None, git_blob: str | None) -> list[tuple[str, str, Callable[[Path], str]]]:
    """(kind, expected digest, how to compute it) for each digest that is known."""
    known = (("sha256", sha256, sha256_of), ("git object id", git_blob, git_blob_sha1_of))
    return [(kind, expected, compute) for kind, expected, compute in known if expected]


def verify_once(spec: ModelSpec, path: Path) -> Path:
    """Check a cached checkpoint against the spec's known digest on first use; a `.verified` file beside
    it remembers the result for this size and modification time (a checkpoint read-only there is checked
    every time). A mismatch is one line saying to download again; the file is left as it is."""
    checks = _digest_checks(spec.sha256, spec.git_blob_sha1)
    if not checks or _hf_blob_named(path, spec.sha256):
        return path
    marker, stamp = _verified_marker(path, checks)
    try:
        if marker.read_text() == stamp:
            return path
    except OSError:
        pass
    for kind, expected, compute in checks:
        actual = compute(path)
        if actual != expected:
            raise ModelDownloadError(
                f"{path}: not the official {spec.name} checkpoint ({kind} {actual[:12]}…, expected "
                f"{expected[:12]}…): a damaged or different file; delete it to download it again"
            )
    _remember_verified(path, checks)
    return path


def _verified_marker(path: Path, checks) -> tuple[Path, str]:
    """The `.verified` file beside a checkpoint, and what it holds once that file was checked as it is now."""
    stat = path.stat()
    stamp = f"{stat.st_size} {stat.st_mtime_ns} " + " ".join(expected for _, expected, _ in checks)
    return path.with_name(path.name + ".verified"), stamp


def _remember_verified(path: Path, checks) -> None:
    marker, stamp = _verified_marker(path, checks)
    try:
        marker.write_text(stamp)
    except OSError:
        pass


def _hf_blob_named(path: Path, sha256: str | None) -> bool:
    """A Hugging Face cache snapshot links to a blob named by its sha256, which the hub checked when it
    downloaded it."""
    return sha256 is not None and path.is_symlink() and path.resolve().name == sha256


def _progress_bar(total: int | None, initial: int, name: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=name)


def ensure_checkpoint(name: str, download: bool = True, progress=True) -> Path:
    """The local file for a model name, downloading it into the cache when it is missing."""
    spec = get_spec(name)
    cached = find_cached(spec)
    if cached is not None:
        return verify_once(spec, cached)
    target = cache_dir() / spec.filename
    manual = f"download {spec.url} and put it at {target} (or pass the file's path)"
    if not download or is_offline():
        raise ModelDownloadError(f"{spec.name} is not downloaded and downloads are off; {manual}")
    errors = []
    for url in spec.urls:
        try:
            path = download_file(url, target, spec.sha256, progress=progress, expected_git_blob=spec.git_blob_sha1)
            _remember_verified(path, _digest_checks(spec.sha256, spec.git_blob_sha1))  # checked while downloading
            return path
        except ModelDownloadError:
            raise
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
    raise ModelDownloadError(f"could not download {spec.name} ({errors[0]}); {manual}")
