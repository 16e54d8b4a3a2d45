"""The gender model: a fitted scikit-learn pipeline plus its manifest.

The pipeline maps preprocessed face rows ``(n, 10000)`` to class
probabilities ``[p_female, p_male]``. For the eigen-face model it is
``PCA(whiten) -> CalibratedClassifierCV(SVC)``; the mean face and the eigen
faces live in the PCA step, not in a second file. :class:`GenderModel` wraps
it with what serving needs: the uncertain threshold from the manifest, crop
classification, and eigen-face reconstructions for the web page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from .preprocess import FACE_SIZE, preprocess_batch
from .types import GENDERS, Prediction

DEFAULT_UNCERTAIN_THRESHOLD = 0.75


def build_pipeline(
    n_components: int = 100,
    C: float = 3.0,
    gamma: float | str = "scale",
    kernel: str = "rbf",
    whiten: bool = True,
    seed: int = 0,
    calibrate: bool = True,
) -> Pipeline:
    """The eigen-face pipeline: PCA on pixels, then an (optionally calibrated) SVM.

    Sigmoid (Platt) calibration over 5 folds gives honest probabilities; the
    bare ``SVC`` (``calibrate=False``) is what the grid search tunes, since
    calibration does not change the ranking and would cost five fits per cell.
    """
    svc = SVC(C=C, gamma=gamma, kernel=kernel, class_weight="balanced", random_state=seed)
    clf: Any = CalibratedClassifierCV(svc, method="sigmoid", cv=5) if calibrate else svc
    return Pipeline([
        ("pca", PCA(n_components=n_components, whiten=whiten, svd_solver="randomized",
                    random_state=seed)),
        ("svm", clf),
    ])


@dataclass
class GenderModel:
    """A fitted pipeline and its manifest, ready to classify face crops.

    Attributes
    ----------
    pipeline : sklearn Pipeline
        Maps ``(n, 10000)`` float32 rows to ``predict_proba`` columns
        ``[female, male]``.
    manifest : dict
        Name, version, sha256, hyper-parameters, data summary, metrics,
        ``uncertain_threshold``; see :mod:`facegender.persist`.
    """

    pipeline: Pipeline
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", "eigenface"))

    @property
    def threshold(self) -> float:
        """Confidence under which an answer is flagged ``uncertain``."""
        return float(self.manifest.get("uncertain_threshold", DEFAULT_UNCERTAIN_THRESHOLD))

    @property
    def pca(self) -> PCA | None:
        step = self.pipeline.named_steps.get("pca")
        return step if isinstance(step, PCA) else None

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        """``(n, 10000)`` rows to ``(n, 2)`` probabilities ``[female, male]``."""
        if len(rows) == 0:
            return np.empty((0, 2))
        return np.asarray(self.pipeline.predict_proba(rows), dtype=np.float64)

    def predictions(self, proba: np.ndarray) -> list[Prediction]:
        """Turn probability rows into :class:`Prediction` objects."""
        out = []
        for p_f, p_m in proba:
            gender = GENDERS[int(p_m > p_f)]
            out.append(Prediction(gender, float(p_f), float(p_m), max(p_f, p_m) < self.threshold))
        return out

    def classify_crops(self, crops: list[np.ndarray]) -> list[Prediction]:
        """Classify face crops (any size, BGR or gray ``uint8``), one Prediction each."""
        return self.predictions(self.predict_proba(preprocess_batch(crops)))

    def reconstruct(self, rows: np.ndarray) -> np.ndarray | None:
        """Eigen-face reconstructions of ``(n, 10000)`` rows, ``(n, 100, 100)`` in [0, 1].

        The crop projected on the PCA components and back: what the model
        "sees" of the face. ``None`` for a model without a PCA step.
        """
        if self.pca is None or len(rows) == 0:
            return None
        back = self.pca.inverse_transform(self.pca.transform(rows))
        return np.clip(back, 0.0, 1.0).reshape(-1, FACE_SIZE, FACE_SIZE)

    def mean_face(self) -> np.ndarray | None:
        """The training mean face, ``(100, 100)`` in [0, 1]."""
        return None if self.pca is None else self.pca.mean_.reshape(FACE_SIZE, FACE_SIZE)

    def eigenfaces(self, n: int = 20) -> np.ndarray | None:
        """The first ``n`` principal components as ``(n, 100, 100)`` images."""
        if self.pca is None:
            return None
        return self.pca.components_[:n].reshape(-1, FACE_SIZE, FACE_SIZE)
