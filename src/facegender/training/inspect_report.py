"""``facegender data inspect``: a markdown report with plots about a labeled folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..types import GENDERS
from .data import scan_labeled
from .report import _plt, _save


def write_inspect_report(folder: Path, out: Path) -> dict[str, Any]:
    """Count per class, size histogram, colour modes and unreadable files; returns the summary."""
    from .data import inspect_images

    labeled = scan_labeled(folder)
    out.mkdir(parents=True, exist_ok=True)
    per_class = {}
    all_w: list[int] = []
    for i, g in enumerate(GENDERS):
        info = inspect_images([p for p, y in zip(labeled.paths, labeled.labels, strict=True)
                               if y == i])
        all_w += info["widths"]
        per_class[g] = {k: info[k] for k in ("n", "modes", "formats", "unreadable")}
        per_class[g]["median_width"] = sorted(info["widths"])[len(info["widths"]) // 2] \
            if info["widths"] else None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(all_w, bins=40)
    ax.set_xlabel("width (px)")
    ax.set_ylabel("images")
    _save(fig, out / "widths.png")
    summary = {"folder": str(folder), "layout": labeled.kind, "classes": per_class}
    md = [f"# Data: {folder}", "", f"Layout: {labeled.kind}.", "",
          "| class | images | median width | colour modes | unreadable |", "|---|---|---|---|---|"]
    for g, c in per_class.items():
        md.append(f"| {g} | {c['n']} | {c['median_width']} | {c['modes']} | "
                  f"{len(c['unreadable'])} |")
    md += ["", "![widths](widths.png)", ""]
    (out / "report.md").write_text("\n".join(md))
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
