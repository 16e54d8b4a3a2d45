"""Training and evaluation reports: markdown plus PNG plots (matplotlib, Agg).

Plots: sample crops per class, mean face, the first 20 eigen faces, the
explained-variance curve, confusion matrix, ROC and reliability diagram.
I/O at the edge: callers give arrays and a folder; nothing else is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..model import GenderModel
from ..types import GENDERS


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> str:
    fig.savefig(path, dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return path.name


def plot_faces(images: np.ndarray, titles: list[str], path: Path, cols: int = 10,
               cmap: str = "gray") -> str:
    """A grid of ``(n, 100, 100)`` images with titles."""
    plt = _plt()
    rows = int(np.ceil(len(images) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.3, rows * 1.5), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, title in zip(axes.ravel(), images, titles, strict=False):
        ax.imshow(img, cmap=cmap)
        ax.set_title(title, fontsize=7)
    return _save(fig, path)


def plot_confusion(cm: list[list[int]], path: Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.4, 3))
    arr = np.asarray(cm)
    ax.imshow(arr, cmap="Blues")
    for (i, j), v in np.ndenumerate(arr):
        ax.text(j, i, str(v), ha="center", va="center",
                color="white" if v > arr.max() / 2 else "black")
    ax.set_xticks([0, 1], GENDERS)
    ax.set_yticks([0, 1], GENDERS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return _save(fig, path)


def plot_roc(roc: dict[str, list[float]], auc: float, path: Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.4, 3.2))
    ax.plot(roc["fpr"], roc["tpr"], label=f"AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlabel("false male rate")
    ax.set_ylabel("true male rate")
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_reliability(bins: list[dict[str, float]], ece: float, path: Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.4, 3.2))
    ax.plot([0.5, 1], [0.5, 1], "k:", lw=1, label="perfect")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-",
            label=f"model (ECE {ece:.3f})")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left")
    return _save(fig, path)


def plot_variance(ratio: np.ndarray, path: Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(np.arange(1, len(ratio) + 1), np.cumsum(ratio))
    ax.set_xlabel("components")
    ax.set_ylabel("cumulative explained variance")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _ci(m: dict[str, Any], key: str) -> str:
    lo, hi = m.get(f"{key}_ci95", (float("nan"), float("nan")))
    return f"{m[key]:.3f} [{lo:.3f}, {hi:.3f}]"


def metrics_table(m: dict[str, Any]) -> str:
    """Markdown table of the headline metrics of one evaluation."""
    lines = ["| metric | value (95% CI) |", "|---|---|",
             f"| images | {m['n']} ({m['n_with_face']} with a face) |",
             f"| accuracy | {_ci(m, 'accuracy')} |",
             f"| balanced accuracy | {_ci(m, 'balanced_accuracy')} |",
             f"| Cohen's kappa | {m['cohen_kappa']:.3f} |"]
    if "roc_auc" in m:
        lines += [f"| ROC-AUC | {m['roc_auc']:.3f} |", f"| ECE | {m['ece']:.3f} |"]
    for g, pc in m["per_class"].items():
        lines.append(f"| {g}: precision / recall / F1 | {pc['precision']:.3f} / "
                     f"{pc['recall']:.3f} / {pc['f1']:.3f} (n={pc['support']}) |")
    return "\n".join(lines)


def write_eval_plots(m: dict[str, Any], out: Path, prefix: str = "") -> list[str]:
    """Confusion matrix, ROC and reliability diagram of one evaluation."""
    out.mkdir(parents=True, exist_ok=True)
    names = [plot_confusion(m["confusion_matrix"], out / f"{prefix}confusion.png")]
    if "roc" in m:
        names.append(plot_roc(m["roc"], m["roc_auc"], out / f"{prefix}roc.png"))
        names.append(plot_reliability(m["reliability"], m["ece"], out / f"{prefix}reliability.png"))
    return names


def evaluation_section(title: str, m: dict[str, Any], out: Path, prefix: str) -> list[str]:
    """Markdown lines of one evaluation: faces found, metrics table, its plots (written)."""
    names = write_eval_plots(m, out, prefix=prefix)
    found = (f"A face was found in {m['face_found_rate']:.1%} of the photos; balanced accuracy "
             f"on those alone {m.get('balanced_accuracy_on_found', float('nan')):.3f}.")
    extra = []
    if "uncertain_share" in m:
        extra = [f"Confident answers (confidence >= threshold): "
                 f"{m['accuracy_confident']:.3f} accurate, {m['uncertain_share']:.1%} left "
                 "uncertain.", ""]
    return [f"## {title}", "", found, "", *extra, metrics_table(m), "",
            " ".join(f"![{n}]({n})" for n in names), ""]


def other_sources(metrics: dict[str, dict[str, Any]], out: Path) -> list[str]:
    """The sections of the test parts of extra sources and of the external checks."""
    md: list[str] = []
    for key, m in metrics.items():
        if key.startswith("test:"):
            name = key.split(":", 1)[1]
            md += evaluation_section(f"Held-out test part of `{name}` (never trained on)", m,
                                     out, f"test-{name}-")
        elif key.startswith("external:"):
            name = key.split(":", 1)[1]
            md += evaluation_section(f"External check: `{name}` (end to end; no face found "
                                     "counts as wrong)", m, out, f"{name}-")
    return md


def faces_line(manifest: dict[str, Any]) -> str:
    """One sentence saying how the faces were found and cut, from the manifest."""
    pre, det = manifest.get("preprocess", {}), manifest.get("detector", {})
    found = {"hog": "dlib's HOG detector (Haar, then dlib's CNN, when it finds nothing)",
             "blazeface": "the BlazeFace finder (facegender.detection.FaceFinder)"}.get(
        det.get("kind", ""), "OpenCV's Haar cascade")
    if manifest.get("serving_detector") and det.get("kind") != "blazeface":
        found += " (served with BlazeFace's finder, its boxes reshaped to dlib's)"
    if pre.get("align_padding") is not None:
        cut = (f"a 100x100 chip aligned by dlib's 5 landmarks (padding "
               f"{pre['align_padding']})")
    else:
        cut = f"a square crop with a {pre.get('crop_margin', 0.1):.0%} margin"
    lbp = (" | PCA on LBP" if "features__lbp__pca__n_components" in
           manifest.get("hyperparameters", {}) else "")
    return (f"Faces: {found}, then {cut}, grayscale, percentile stretch and CLAHE -> "
            f"[PCA on pixels | PCA on HOG{lbp}] "
            "-> RBF SVM with sigmoid calibration.")


def age_group_lines(man: dict[str, Any]) -> list[str]:
    """The per-age-group thresholds, when the model has them, youngest first (both kinds of
    model)."""
    groups = man.get("age_groups") or {}
    if not groups.get("per_group"):
        return []
    rows = [(g, groups["per_group"][g]) for g in groups["labels"]]
    return [f"Uncertain threshold per guessed age group (trained on "
            f"{', '.join(groups['trained_on'])} ages; the guess is never shown; above 1: "
            "never sure):", "",
            "| age group | threshold | validation faces | left uncertain on validation |",
            "|---|---|---|---|",
            *(f"| {g} | {e['threshold']:.2f} | {e['validation_faces']} | "
              f"{e.get('uncertain_share_validation', float('nan')):.1%} |" for g, e in rows), ""]


def write_training_report(
    model: GenderModel, metrics: dict[str, dict[str, Any]], X_train: np.ndarray,
    y_train: np.ndarray, out: Path,
) -> Path:
    """Write ``report.md`` and its plots for a freshly trained model.

    ``metrics`` holds ``test`` (the held-out split) and optionally
    ``test:NAME`` (held-out parts of extra training sources) and
    ``external:NAME`` entries (other labeled folders, end to end).
    """
    test = metrics["test"]
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(model.manifest.get("seed", 0))
    samples, titles = [], []
    for i, g in enumerate(GENDERS):
        pick = rng.choice(np.flatnonzero(y_train == i), size=min(10, int((y_train == i).sum())),
                          replace=False)
        samples += [X_train[j].reshape(100, 100) for j in pick]
        titles += [g] * len(pick)
    plot_faces(np.asarray(samples), titles, out / "samples.png")
    mean = model.mean_face()
    if mean is not None and model.pca is not None:
        plot_faces(mean[None], ["mean face"], out / "mean_face.png", cols=1)
        eig = model.eigenfaces(20)
        assert eig is not None
        plot_faces(eig, [f"#{i + 1}" for i in range(len(eig))], out / "eigenfaces.png",
                   cmap="bwr")
        plot_variance(model.pca.explained_variance_ratio_, out / "explained_variance.png")
    write_eval_plots(test, out)
    man = model.manifest
    td = man["training_data"]
    md = [
        f"# Training report: {man['name']} {man['version']}", "",
        faces_line(man), "",
        f"Trained on `{td['source']}` ({td['photos']} photos, {td['faces']} faces: "
        f"{td['faces_per_class']}), seed {man['seed']}, in {man['train_seconds']} s. "
        f"Split (stratified): {td['split']}.", "",
        *(line for name, src in td.get("extra_sources", {}).items() for line in (
            f"Also trained on the training part of `{name}` ({src['photos']} photos, "
            f"{src['faces']} faces, split {src['split']}).", "")),
        f"Best hyper-parameters (3-fold CV balanced accuracy "
        f"{man['cv_balanced_accuracy']:.3f}): `{json.dumps(man['hyperparameters'])}`.", "",
        "Uncertain threshold (chosen on validation"
        + ("; for adults' faces" if man.get("age_groups") else "") + "): confidence < "
        + f"{man['uncertain_threshold']:.2f}; on test "
        f"{test.get('uncertain_share', float('nan')):.1%} left uncertain, confident answers "
        f"{test.get('accuracy_confident', float('nan')):.3f} accurate.", "",
        *age_group_lines(man),
        "## Held-out test split", "", metrics_table(test), "",
        "![confusion](confusion.png) ![roc](roc.png) ![reliability](reliability.png)", "",
    ]
    md += other_sources(metrics, out)
    md += [
        "## Data and eigen faces", "", "![samples](samples.png)", "",
        "![mean face](mean_face.png) ![explained variance](explained_variance.png)", "",
        "![eigen faces](eigenfaces.png)", "",
    ]
    (out / "report.md").write_text("\n".join(md))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return out
