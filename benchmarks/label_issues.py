"""Training photos whose label the default model's features disagree with, for a person to check.

Run from the project root::

    .venv/bin/python benchmarks/label_issues.py [--out reports]

The IMDB-WIKI labels are about 1 in 15 wrong by eye. Over the training parts the shipped
embedding model was fitted on (the same seeded splits, its cached network rows and outputs),
5-fold cross-validated probabilities of the same kind of classifier (scaled RBF SVM, sigmoid
calibration), then cleanlab's ``find_label_issues``: the photos it flags, most doubtful first.
Training without them did not help on validation (reports/experiments.md), so they stay in the
training data; this list is for fixing labels by hand. Writes ``label_issues.{md,csv}``.
Needs ``cleanlab`` (``pip install 'facegender[bench]'``).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from common import DATA, ROOT
from heldout import embedding_parts
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from facegender.persist import load_model
from facegender.types import GENDERS


def main() -> int:
    from cleanlab.filter import find_label_issues

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "reports")
    args = ap.parse_args()
    model = load_model("embedding")
    man = model.manifest
    rows, labels, paths = [], [], []
    for name in man["training_data"]["per_source"]:
        photos, y, emb, (tr, _, _) = embedding_parts(model, DATA / name, man["seed"])
        rows.append(emb[tr])
        labels.append(y[tr])
        paths += [photos[i] for i in tr]
    X, y = np.vstack(rows), np.concatenate(labels)
    C = man["hyperparameters"]["svm__C"]
    clf = Pipeline([("scale", StandardScaler()), ("svm", CalibratedClassifierCV(
        SVC(C=C, class_weight="balanced", cache_size=500), cv=3, ensemble=False))])
    proba = cross_val_predict(clf, X, y, method="predict_proba", n_jobs=2,
                              cv=StratifiedKFold(5, shuffle=True, random_state=man["seed"]))
    order = find_label_issues(y, proba, return_indices_ranked_by="self_confidence")
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "label_issues.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["photo", "label", "p_label_cv"])
        for i in order:
            writer.writerow([paths[i].relative_to(DATA).as_posix(), GENDERS[y[i]],
                             round(float(proba[i, y[i]]), 3)])
    by_source: dict[str, int] = {}
    for i in order:
        src = paths[i].relative_to(DATA).parts[0]
        by_source[src] = by_source.get(src, 0) + 1
    md = ["# Training photos whose label the features disagree with", "",
          f"`benchmarks/label_issues.py`: cleanlab over 5-fold cross-validated probabilities on "
          f"the {len(y):,} training faces of the shipped `embedding` model ({man['created']}). "
          f"Flagged: {len(order)} ({', '.join(f'{k} {v}' for k, v in by_source.items())}), "
          "most doubtful first; the full list is `label_issues.csv`. Not removed from training "
          "(no gain on validation, reports/experiments.md): a list for a person to check; "
          "many of UTKFace's are young children, hard rather than mislabelled.", "",
          "| photo | label | cross-validated p(label) |", "|---|---|---|",
          *(f"| {paths[i].relative_to(DATA).as_posix()} | {GENDERS[y[i]]} | "
            f"{proba[i, y[i]]:.3f} |" for i in order[:50]), ""]
    (args.out / "label_issues.md").write_text("\n".join(md))
    print(f"{len(order)} flagged of {len(y)}; {by_source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
