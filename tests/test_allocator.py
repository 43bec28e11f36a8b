"""The heap settings: image embeddings reuse freed large blocks; tracking's trim gives them back; opt-out works."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="the settings are glibc's"
)

# A fresh interpreter, so the settings are applied before any thread exists, as at `import anymask`.
# Prints the minor page faults of filling a 128 MB block after a 256 MB one was freed: inside
# large_blocks_reused (reused) and, after release_free_memory, outside it (mapped anew); and the resident
# pages release_free_memory gives back.
PROBE = """
import resource
import anymask
from anymask.allocator import keep_freed_memory, large_blocks_reused, release_free_memory
import torch

def faults_after_a_larger_block():
    torch.ones(64 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(32 << 20)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

def resident_pages():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1])

with large_blocks_reused():
    reused = faults_after_a_larger_block()
    kept = resident_pages()
    release_free_memory()
    given_back = kept - resident_pages()
outside = faults_after_a_larger_block()
print(keep_freed_memory(), reused, given_back, outside)
"""
PAGES = (128 << 20) // 4096


def probe(opt_out: str | None) -> tuple[bool, int, int, int]:
    env = dict(os.environ)
    env.pop("ANYMASK_KEEP_FREED_MEMORY", None)
    if opt_out is not None:
        env["ANYMASK_KEEP_FREED_MEMORY"] = opt_out
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    applied, reused, given_back, outside = result.stdout.split()
    return applied == "True", int(reused), int(given_back), int(outside)


def test_large_blocks_are_reused_while_embedding_and_given_back_by_the_trim():
    applied, reused, given_back, outside = probe(None)
    assert applied
    assert reused < PAGES // 10, "freed memory was not reused inside large_blocks_reused"
    assert given_back > PAGES // 2, "release_free_memory kept the freed block resident"
    assert outside > PAGES // 2, "outside large_blocks_reused a 128 MB block should be mapped anew"


def test_opting_out_keeps_glibc_defaults():
    applied, reused, _, _ = probe("0")
    assert not applied
    assert reused > PAGES // 2, "with ANYMASK_KEEP_FREED_MEMORY=0 large blocks should be mapped anew"
