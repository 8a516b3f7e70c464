"""The C allocator, set for encoding photos: keep freed memory instead of giving it back.

glibc's malloc hands each batch's large buffers (tens of MB: decoded photos, activations) back
to the system when they are freed and faults them in again for the next batch. Measured on 2
cores (#35): a third of the CPU time of `train` was the kernel's (225 million minor page faults);
160 photos encoded with the default settings took 19.0 s of system time and 5.2 million faults,
with these settings 0.4 s and 95 thousand. The settings are glibc's own (`mallopt`, as the
MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ variables set them at start-up); elsewhere this
does nothing. The price is memory held after a peak, which the next batch reuses.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 30  # allocations up to 1 GB come from the heap, which keeps them mapped
OLD_GLIBC_MMAP_THRESHOLD = 32 << 20  # glibc before 2.35 refuses more than this on 64-bit
TRIM_THRESHOLD = 2**31 - 1  # never give the heap's top back (mallopt takes an int)


def keep_freed_memory() -> bool:
    """Set glibc's allocator to keep freed memory for reuse; True when it took the settings."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt: their malloc differs
        return False
    mapped = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) or mallopt(M_MMAP_THRESHOLD,
                                                                  OLD_GLIBC_MMAP_THRESHOLD)
    return bool(mapped) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
