"""core.foundation.memory: freed batch buffers are kept for reuse, not faulted in again (#35)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# A batch-sized buffer allocated and freed again and again, as encoding does: the minor page
# faults it costs, with or without the allocator settings, in a fresh process each.
SNIPPET = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from core.foundation.memory import keep_freed_memory
    assert keep_freed_memory()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    buffer = np.ones(16 * 2**20 // 8 * 4)  # 64 MB, touched
    del buffer
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
    # (how many faults a time depends on the kernel's huge pages); kept, they fault in once.
    assert default > 5 * kept, (default, kept)
