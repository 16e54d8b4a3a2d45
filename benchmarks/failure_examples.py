"""The model card's failure examples: a few small crops the default model got wrong.

Run from the project root after ``accuracy.py`` (it reads the per-photo
answers that script left in ``/tmp/facegender-bench/predictions.json``)::

    .venv/bin/python benchmarks/failure_examples.py [--out reports/model_card]

Each category is found from the data by the eigen-face model's errors, then
ordered by how confidently it was wrong:

- children: UTKFace photos of ages 0-9 (labels.csv);
- low light: photos whose face region is darkest (mean gray);
- profile faces and occlusion: chosen by eye among the ``pixabay-external``
  errors on a contact sheet (``--sheet`` writes it), named in :data:`PROFILE`
  and :data:`OCCLUSION`. Most of these are photos where no face was found
  at all (a frontal detector does not see a profile or a face behind dark
  glasses), which a yaw estimate from landmarks cannot rank, because there
  are no landmarks without a face box; the yaw estimate from dlib's 5-point
  landmarks fills the profile strip up when fewer are named.

Each PNG is one strip of up to four 96 px face crops, captioned with the
truth and all three answers (eigenface, embedding, peer) on that photo.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from common import DATA, ROOT, save_figure

from facegender.detection.dlib_chain import dlib_detector
from facegender.detection.landmarks import LANDMARKS_FILE, model_file
from facegender.features.preprocess import crop_face
from facegender.images import read_image

PREDICTIONS = Path("/tmp/facegender-bench/predictions.json")
SETS = ("utkface held-out test part of embedding (end to end)",
        "utkface held-out test part of eigenface (its crops)",
        "pixabay-external (end to end; never trained or tuned on)")
"""Where the errors are looked for: each set the model answered on (``eigenface`` has its own
UTKFace part since it trains on UTKFace too)."""
#: Picked by eye from the contact sheet of the eigen-face model's pixabay errors
#: (``--sheet``, 2026-12-02): faces turned to the side, and faces behind dark glasses
#: or a hand.
PROFILE: tuple[str, ...] = ("girl-7288857_1280.jpg", "the-little-girl-1527959_1280.jpg",
                            "male-3184000_1280.jpg", "man-505353_1280.jpg")
OCCLUSION: tuple[str, ...] = ("man-109159_1280.jpg", "man-6060370_1280.jpg",
                              "old-man-6604243_1280.jpg", "young-3344126_1280.jpg")
SIZE = 96


def errors(store: dict[str, Any], model: str = "eigenface") -> list[dict[str, Any]]:
    """Every photo ``model`` got wrong on :data:`SETS`, with all answers on it."""
    out = []
    for title in SETS:
        s = store.get(title)
        if s is None or model not in s["p_male"]:
            continue
        for i, (path, y) in enumerate(zip(s["photos"], s["labels"], strict=True)):
            p = s["p_male"][model][i]
            if p is None or (p >= 0.5) != (y == 1):
                out.append({"path": path, "y": y, "set": title,
                            "answers": {m: v[i] for m, v in s["p_male"].items()},
                            "wrongness": 1.0 if p is None else abs(p - 0.5) + 0.5})
    return sorted(out, key=lambda e: -e["wrongness"])


def face_crop(path: str) -> np.ndarray:
    """The largest face (both models' detector, with the square-crop margin), or the photo."""
    image = read_image(path)
    boxes = dlib_detector().detect(image)
    if boxes:
        face = crop_face(image, boxes[0])
    else:  # no face found: the photo's centre square, not a squashed whole photo
        h, w = image.shape[:2]
        side = min(h, w)
        face = image[(h - side) // 2:(h + side) // 2, (w - side) // 2:(w + side) // 2]
    return cv2.resize(face, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def yaw(path: str) -> float:
    """0 for a frontal face up to ~1 for a profile: eye-to-nose distance asymmetry (dlib)."""
    import dlib

    image = read_image(path)
    boxes = dlib_detector().detect(image)
    if not boxes:
        return 0.0
    b = boxes[0]
    predictor = dlib.shape_predictor(str(model_file(LANDMARKS_FILE)))
    shape = predictor(np.ascontiguousarray(image[:, :, ::-1]),
                      dlib.rectangle(b.x, b.y, b.x + b.w, b.y + b.h))
    pts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], float)
    right_eye, left_eye, nose = pts[0:2].mean(0), pts[2:4].mean(0), pts[4]
    d1, d2 = np.linalg.norm(right_eye - nose), np.linalg.norm(left_eye - nose)
    return float(abs(d1 - d2) / max(d1 + d2, 1e-6))


def darkness(path: str) -> float:
    """Mean gray of the face crop, 0-255 (low = dark)."""
    return float(cv2.cvtColor(face_crop(path), cv2.COLOR_BGR2GRAY).mean())


def utk_ages() -> dict[str, int]:
    """Age by photo path, from UTKFace's labels.csv."""
    root = DATA / "utkface"
    with open(root / "labels.csv", newline="") as f:
        return {str(root / r["path"]): int(r["age"]) for r in csv.DictReader(f)}


def caption(e: dict[str, Any]) -> str:
    """``truth F | eig M .91 | emb F .88 | peer F .99``."""
    def one(p: float | None) -> str:
        if p is None:
            return "none"
        return f"{'M' if p >= 0.5 else 'F'} {max(p, 1 - p):.2f}".replace("0.", ".")

    short = {"eigenface": "eig", "embedding": "emb"}
    parts = [f"{short.get(m, 'peer')} {one(p)}" for m, p in e["answers"].items()]
    return f"truth {'M' if e['y'] else 'F'}\n" + "\n".join(parts)


def strip(examples: list[dict[str, Any]], title: str, path: Path) -> None:
    """Up to four captioned crops side by side, as one small PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(examples), figsize=(1.45 * len(examples), 2.3))
    for ax, e in zip(np.atleast_1d(axes), examples, strict=True):
        ax.imshow(face_crop(e["path"])[:, :, ::-1])
        ax.set_title(caption(e), fontsize=6, loc="left")
        ax.axis("off")
    fig.suptitle(title, fontsize=8, y=0.02, va="bottom")
    save_figure(fig, path)


def pick(errs: list[dict[str, Any]], k: int = 4) -> dict[str, list[dict[str, Any]]]:
    """Up to ``k`` examples per category, no photo in two categories."""
    ages = utk_ages()
    used: set[str] = set()

    def take(cands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        chosen = [e for e in cands if e["path"] not in used][:k]
        used.update(e["path"] for e in chosen)
        return chosen

    found = [e for e in errs if e["answers"]["eigenface"] is not None]
    children = take([e for e in found if ages.get(e["path"], 99) <= 9])
    gray = {e["path"]: darkness(e["path"]) for e in found}
    dark = take(sorted((e for e in found if gray[e["path"]] < 70), key=lambda e: gray[e["path"]]))
    occluded = take([e for e in errs if Path(e["path"]).name in OCCLUSION])
    named = [e for e in errs if Path(e["path"]).name in PROFILE]
    turned = {e["path"]: yaw(e["path"]) for e in found if "pixabay" in e["set"]}
    profile = take(named + sorted((e for e in found if turned.get(e["path"], 0) > 0.15),
                                  key=lambda e: -turned[e["path"]]))
    return {"children": children, "low_light": dark, "profile": profile, "occlusion": occluded}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "model_card")
    ap.add_argument("--sheet", type=Path, default=None, help="also write a contact sheet here")
    args = ap.parse_args()
    errs = errors(json.loads(PREDICTIONS.read_text()))
    if args.sheet:
        pix = [e for e in errs if "pixabay" in e["set"]][:40]
        tiles = [cv2.putText(face_crop(e["path"]).copy(), str(i), (2, 12),
                             cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1) for i, e in
                 enumerate(pix)]
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 8)
        rows = [np.hstack(tiles[i:i + 8]) for i in range(0, len(tiles), 8)]
        cv2.imwrite(str(args.sheet), np.vstack(rows))
        for i, e in enumerate(pix):
            print(i, Path(e["path"]).name)
    chosen = pick(errs)
    titles = {"children": "children (UTKFace, ages 0-9)", "low_light": "low light",
              "profile": "turned / profile faces", "occlusion": "occlusion"}
    summary = {}
    for cat, ex in chosen.items():
        if ex:
            strip(ex, titles[cat], args.out / f"{cat}.png")
        summary[cat] = [{"photo": str(Path(e["path"]).relative_to(DATA)), "truth": e["y"],
                         "answers": e["answers"]} for e in ex]
    (args.out / "examples.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
