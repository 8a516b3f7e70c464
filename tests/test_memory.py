"""core.foundation.memory: freed batch buffers are kept for reuse, not faulted in again (#35)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# A batch-sized buffer allocated and freed again and again, as encoding does: the minor page
# faults it costs after the first time, with or without the allocator settings, in a fresh
# process each. glibc's own malloc, not numpy's (which asks for huge pages, making the count
# depend on how many the kernel has free).
SNIPPET = """
import ctypes, resource, sys
if sys.argv[1] == "keep":
    from core.foundation.memory import keep_freed_memory
    assert keep_freed_memory()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
size = 64 * 2**20
def cycle():
    buffer = libc.malloc(size)
    libc.memset(buffer, 1, size)  # touched, as a decoded batch is
    libc.free(buffer)
cycle()  # the first time faults its pages in, whatever the settings
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    cycle()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run(  # noqa: S603 - fixed argv: this Python runs the constant snippet above
        [sys.executable, "-c", SNIPPET, mode], capture_output=True, text=True, timeout=120, check=True)
    return int(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_freed_buffers_are_reused_instead_of_faulted_in_again() -> None:
    default, kept = _faults("default"), _faults("keep")
    # By default glibc maps and unmaps the buffer each time, so its pages fault in all 20 times
    # (at least once each, however large the kernel's pages); kept, they stay in.
    assert default >= 20 and default > 5 * kept, (default, kept)
