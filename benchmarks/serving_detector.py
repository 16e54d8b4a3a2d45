"""Serve a trained model with BlazeFace's finder and re-measure its external checks with it.

Run from the project root, once per shipped model::

    .venv/bin/python benchmarks/serving_detector.py src/facegender/models/embedding \
        --external ../shared/data/pixabay-external
    .venv/bin/python benchmarks/serving_detector.py src/facegender/models/eigenface \
        --external ../shared/data/pixabay-external --external ../shared/data/utkface

Why: the shipped models were trained on faces cut by dlib's chain; the finder's
boxes are mapped to dlib's and aligned by the same landmarks
(benchmarks/box_mapping.py), so the models need no retraining, but their
end-to-end figures change with the detector in front of them. This writes
``serving_detector`` (the finder's settings) into the manifest, measures every
``--external`` folder end to end with it (a photo with no face found counts as
wrong) and stores those metrics in place of the old ones, keeping the old ones
under ``metrics_with_training_detector``. The model file and its sha256 are
untouched. External folders are measured only, never tuned on.

For a model whose training faces the finder cut itself, this refreshes ``serving_detector``
to today's finder with every setting named (a setting the record leaves out would follow
the defaults as they move on) and re-measures its external checks; there is no other
training detector whose metrics to keep.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from facegender.detection import FinderSettings
from facegender.persist import MANIFEST_FILE, load_model
from facegender.training.assess import evaluate_folder
from facegender.training.train_eigenface import strip_curves


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--external", type=Path, action="append", default=[])
    args = ap.parse_args()
    path = args.model_dir / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    model = load_model(args.model_dir)
    model.manifest["serving_detector"] = FinderSettings().to_manifest()
    model.manifest.pop("detector_added_after_training", None)
    before = {}
    for folder in args.external:
        key = f"external:{folder.name}"
        if key in manifest["metrics"]:
            before[key] = manifest["metrics"][key]
        metrics = evaluate_folder(model, folder, progress=True)
        manifest["metrics"][key] = strip_curves(metrics)
        old = before.get(key, {})
        print(f"{key}: balanced accuracy {old.get('balanced_accuracy', float('nan')):.3f} -> "
              f"{metrics['balanced_accuracy']:.3f}, faces found "
              f"{old.get('face_found_rate', float('nan')):.3f} -> {metrics['face_found_rate']:.3f}")
    manifest["serving_detector"] = model.manifest["serving_detector"]
    manifest.pop("detector_added_after_training", None)
    if manifest.get("detector", {}).get("kind") != "blazeface":
        # the first measurement with the training detector is kept; a re-run keeps it
        manifest["metrics_with_training_detector"] = {
            **before, **manifest.get("metrics_with_training_detector", {})}
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
