"""`anymask models`: the registry, which models are cached, a download, and the precision this machine gets."""

from __future__ import annotations

from .common import add_command


def register(commands, parents) -> None:
    parser = add_command(commands, "models", "list SAM 2 variants, which are cached, download one", parents, run)
    parser.add_argument("--download", metavar="NAME", help="download this model into the cache (e.g. sam2.1-tiny)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--device", default="cpu", help="the device whose precision choice to show (cpu, cuda)")


def run(args) -> int:
    from ..models.hub import REGISTRY, cache_dir, ensure_checkpoint, find_cached, get_spec
    from ..models.precision import describe_device

    if args.download:
        spec = get_spec(args.download)
        path = ensure_checkpoint(spec.name, download=True, progress=not args.quiet)
        print(f"{spec.name}: {path}")
        return 0
    print(f"{'model':<18} {'size':>7}  status")
    for spec in REGISTRY.values():
        cached = find_cached(spec)
        status = f"cached at {cached}" if cached else "not downloaded"
        print(f"{spec.name:<18} {spec.approx_mb:>4} MB  {status}")
        if spec.summary:
            print(f"{'':<18} {'':>7}  {spec.summary}")
    print(f"\ncache: {cache_dir()}  (set ANYMASK_HOME to move it; the Hugging Face hub cache is searched too)")
    print("download one with: anymask models --download sam2.1-tiny")
    print(f"\n{describe_device(args.device, 'auto')}")
    return 0
