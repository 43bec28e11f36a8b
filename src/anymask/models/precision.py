"""Which precision a model runs in: `auto` picks bf16 only where the device computes it natively."""

from __future__ import annotations

import json
import os
import platform
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import AnymaskError
from ..sam2.linear import X86_WITHOUT_AVX512
from ..vocabulary import PRECISION_HELP, PRECISION_NAMES, Precision

__all__ = [
    "PRECISION_HELP",
    "PRECISION_NAMES",
    "Precision",
    "PrecisionChoice",
    "PrecisionWarning",
    "bf16_support",
    "cpu_speed_tip",
    "model_speed_tip",
    "describe_device",
    "device_summary",
    "resolve_precision",
]


class PrecisionWarning(UserWarning):
    """A precision that works but will be much slower on this device than another one."""


@dataclass(frozen=True)
class PrecisionChoice:
    """What was asked for, what will run, and why, in words a person reads."""

    requested: str
    precision: str
    reason: str

    def describe(self) -> str:
        picked = f"{self.precision} (auto)" if self.requested == Precision.AUTO.value else self.precision
        return f"{picked}: {self.reason}"


@dataclass(frozen=True)
class Bf16Support:
    native: bool
    reason: str


def check_precision_name(precision: str) -> str:
    value = str(getattr(precision, "value", precision)).lower()
    if value not in PRECISION_NAMES:
        raise AnymaskError(f"precision must be one of {', '.join(PRECISION_NAMES)}, got {precision!r}")
    return value


def cpu_capability() -> str:
    """torch's CPU kernel level (AVX2, AVX512, ...), honouring ATEN_CPU_CAPABILITY."""
    return torch.backends.cpu.get_cpu_capability()


def bf16_support(device: torch.device | str = "cpu") -> Bf16Support:
    """Whether bfloat16 is native (fast) on this device, and the evidence."""
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return Bf16Support(False, "no CUDA GPU is available")
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return Bf16Support(True, f"{torch.cuda.get_device_name(device)} computes bf16 natively")
        return Bf16Support(False, f"{torch.cuda.get_device_name(device)} has no native bf16")
    if device.type != "cpu":
        return Bf16Support(False, f"bf16 is not used on {device.type}")
    capability = cpu_capability()
    if capability in X86_WITHOUT_AVX512:
        return Bf16Support(False, f"CPU capability {capability}: bfloat16 is emulated there (5-80x slower than fp32)")
    if capability.startswith("AVX512"):
        avx512_bf16, amx = cpu_bf16_flags()
        if amx:
            return Bf16Support(True, f"CPU capability {capability} with AMX")
        if avx512_bf16:
            return Bf16Support(True, f"CPU capability {capability} with AVX512_BF16")
        return Bf16Support(False, f"CPU capability {capability} without AVX512_BF16: bfloat16 is emulated there")
    return _measured_bf16_support(capability)


def cpu_bf16_flags() -> tuple[bool, bool]:
    """(AVX512_BF16, AMX tiles) as the CPU reports them (False where this torch cannot tell)."""

    def flag(name: str) -> bool:
        check = getattr(torch.cpu, name, None)
        return bool(check()) if check is not None else False

    return flag("_is_avx512_bf16_supported"), flag("_is_amx_tile_supported")


def _cache_file() -> Path:
    home = os.environ.get("ANYMASK_HOME") or Path.home() / ".cache" / "anymask"
    return Path(home) / "bf16_probe.json"


def _measured_bf16_support(capability: str) -> Bf16Support:
    """Where the CPU's flags cannot be read: time a small GEMM in both precisions, once per machine."""
    key = f"{platform.machine()}|{platform.processor()}|{capability}|{torch.__version__}"
    cache = _cache_file()
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError, RecursionError):
        known = {}
    if key not in known:
        known[key] = bf16_speed_ratio()
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(known))
        except OSError:
            pass
    ratio = known[key]
    verdict = ratio <= 1.0
    words = "native" if verdict else "emulated"
    return Bf16Support(verdict, f"CPU capability {capability}: bf16 measured {ratio:.2f}x fp32 time ({words})")


def bf16_speed_ratio() -> float:
    """Median time of a 256x1024x1024 linear in bf16 over fp32 (about 0.1 s in all)."""
    times = {}
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(256, 1024, dtype=dtype)
        w = torch.randn(1024, 1024, dtype=dtype)
        torch.nn.functional.linear(x, w)
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            torch.nn.functional.linear(x, w)
            samples.append(time.perf_counter() - start)
        times[dtype] = sorted(samples)[2]
    return times[torch.bfloat16] / max(times[torch.float32], 1e-9)


_warned: set[str] = set()


def resolve_precision(requested: str, device: torch.device | str = "cpu") -> PrecisionChoice:
    """Turn `auto` into fp32 or bf16 for this device; warn once when bf16 is asked for where it is emulated,
    or fast where bf16 is native (on 2 Zen 4 cores with AVX512_BF16 the fast mode's int8 linears took
    1.21-1.30x auto's set_image time and 1.19-1.22x its tracked frame: docs/performance.md)."""
    requested = check_precision_name(requested)
    device = torch.device(device)
    if requested == Precision.FAST.value:
        if device.type != "cpu":
            raise AnymaskError(f"precision 'fast' runs on the CPU only; use auto, fp32 or bf16 on {device.type}")
        support = bf16_support(device)
        if support.native:
            warn_once(f"precision fast is slower here than auto, which runs bf16 ({support.reason}); use auto")
        return PrecisionChoice(requested, requested, "int8 linears and fewer memory frames (approximate, CPU)")
    if requested == Precision.FP32.value:
        return PrecisionChoice(requested, requested, "asked for")
    support = bf16_support(device)
    if requested == Precision.BF16.value:
        if not support.native:
            warn_once(
                f"bf16 on this {device.type} will be much slower than fp32 ({support.reason}); "
                "use precision auto or fp32"
            )
        return PrecisionChoice(
            requested, requested, support.reason if support.native else f"asked for; {support.reason}"
        )
    return PrecisionChoice(requested, "bf16" if support.native else "fp32", support.reason)


def forget_warnings() -> None:
    """Let each warning show once more (tests; a long-lived process that wants to remind)."""
    _warned.clear()


def warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, PrecisionWarning, stacklevel=3)


def device_summary(device: torch.device | str = "cpu") -> str:
    """One line: the device, and for a CPU torch's kernel level and thread count."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"device {device} ({torch.cuda.get_device_name(device)}), torch {torch.__version__}"
    if device.type != "cpu":
        return f"device {device}, torch {torch.__version__}"
    return (
        f"device cpu ({platform.machine()}, CPU capability {cpu_capability()}, "
        f"{torch.get_num_threads()} threads), torch {torch.__version__}"
    )


def cpu_speed_tip(device: torch.device | str, precision: str, edgetam: bool) -> str | None:
    """On a CPU without native BF16, SAM 2 in fp32 runs near the arithmetic's floor: say what is faster.

    Measured on 2 AVX2 cores (docs/performance.md): sam2.1-tiny 6.69 s per tracked frame, EdgeTAM 1.18 s,
    the fast mode 0.71x of fp32.
    """
    device = torch.device(device)
    if device.type != "cpu" or precision != Precision.FP32.value or edgetam or bf16_support(device).native:
        return None
    return (
        "this CPU has no native BF16, so SAM 2 runs in fp32 at about the official package's speed; "
        "EdgeTAM (--model edgetam) tracks about 5x faster here, --precision fast about 1.4x (approximate)"
    )


def model_speed_tip(model) -> str | None:
    """`cpu_speed_tip` for a loaded model (`anymask track`, `anymask bench`)."""
    return cpu_speed_tip(model.device, model.precision, edgetam=model.spatial_perceiver is not None)


def describe_device(device: str = "cpu", precision: str = "auto") -> str:
    """For `anymask models`: the device, the precision chosen with its reason, and a tip where SAM 2 is slow."""
    from .loading import resolve_device

    target = resolve_device(device)
    choice = resolve_precision(precision, target)
    tip = cpu_speed_tip(target, choice.precision, edgetam=False)
    return f"{device_summary(target)}\nprecision {choice.describe()}" + (f"\ntip: {tip}" if tip else "")
