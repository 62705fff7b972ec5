"""The peak resident memory of this process, for benchmarks and reports."""

from __future__ import annotations

import resource
from pathlib import Path

_STATUS = Path("/proc/self/status")


def peak_rss_mib() -> float:
    """This process's own high-water RSS (Linux's VmHWM). `ru_maxrss` is not that: it keeps
    the parent's RSS at fork across exec, so a child of a big process looks big."""
    if _STATUS.exists():
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
