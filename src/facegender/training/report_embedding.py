"""The embedding model's training report: markdown plus the evaluation plots.

Like :func:`facegender.training.report.write_training_report`, without the eigen-face
pictures (an embedding has none to show); one section per test part and per
external check. I/O at the edge: callers give the model, metrics and a folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..model import GenderModel
from .report import age_group_lines, evaluation_section, other_sources


def write_embedding_report(model: GenderModel, metrics: dict[str, dict[str, Any]],
                           out: Path) -> Path:
    """Write ``report.md``, ``metrics.json`` and plots for a trained embedding model."""
    out.mkdir(parents=True, exist_ok=True)
    man = model.manifest
    td = man["training_data"]
    md = [
        f"# Training report: {man['name']} {man['version']}", "",
        f"{_pipeline_line(man)}", "",
        f"Trained on `{td['source']}` plus {td['extra_sources'] or 'nothing else'}, seed "
        f"{man['seed']}, in {man['train_seconds']} s; {td['note']}.", "",
        "| source | photos | faces | train | validation | test (kept aside) |",
        "|---|---|---|---|---|---|",
        *(f"| {n} | {s['photos']} | {s['faces']} | {s['split']['train']} | "
          f"{s['split']['validation']} | {s['split']['test_kept_aside']} |"
          for n, s in td["per_source"].items()), "",
        f"Best hyper-parameters (3-fold CV balanced accuracy "
        f"{man['cv_balanced_accuracy']:.3f}): `{json.dumps(man['hyperparameters'])}`.", "",
        f"Uncertain threshold (chosen on validation for >= 0.97 accuracy of confident "
        f"answers): confidence < {man['uncertain_threshold']:.2f}.", "",
        *age_group_lines(man),
    ]
    if "test" in metrics:
        md += evaluation_section(f"Held-out test split of `{td['source']}`", metrics["test"],
                                 out, "")
    md += other_sources(metrics, out)
    (out / "report.md").write_text("\n".join(md))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return out


def _pipeline_line(man: dict[str, Any]) -> str:
    """One sentence naming the pipeline's stages as this manifest records them."""
    detector = man.get("detector", {}).get("kind", "hog")
    found = ("the BlazeFace finder's largest face" if detector == "blazeface" else
             "dlib HOG detector (Haar, then dlib's CNN, when it finds nothing)")
    outputs = (man.get("embedding") or {}).get("outputs", ["embedding"])
    return (f"{found} -> 5-point alignment -> dlib's face ResNet, outputs "
            f"{', '.join(f'`{o}`' for o in outputs)} -> StandardScaler -> RBF SVM with a "
            "sigmoid learned on the validation part.")
