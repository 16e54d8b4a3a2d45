"""The gender model: a fitted scikit-learn pipeline plus its manifest.

The pipeline maps preprocessed face rows ``(n, 10000)`` to class
probabilities ``[p_female, p_male]``. For the eigen-face model it is
``[PCA(pixels) | PCA(HOG)] -> CalibratedClassifierCV(SVC)``; the mean face and the eigen
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
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import SVC

from .features import (
    FACE_SIZE,
    HogFeatures,
    LbpFeatures,
    compile_groups,
    compile_pipeline,
    compile_shared,
    embed_crops,
    face_images,
    guess_groups,
    preprocess_batch,
    whole_image_box,
)
from .types import GENDERS, Prediction

DEFAULT_UNCERTAIN_THRESHOLD = 0.75


SVM_CACHE_MB = 500
"""libsvm's kernel cache while fitting (scikit-learn's default: 200 MB). The same model, fitted
faster: the eigen-face SVM on 13,154 mirrored IMDB-WIKI faces in 17.0 s instead of 34.7
(1,000 MB: 16.4 s). Only fitting uses it, up to the kernel matrix's size."""


def build_pipeline(
    n_components: int = 150,
    hog_components: int | None = 150,
    C: float = 3.0,
    gamma: float | str = "scale",
    kernel: str = "rbf",
    seed: int = 0,
    lbp_components: int | None = None,
) -> Pipeline:
    """The eigen-face pipeline, uncalibrated: [PCA on pixels | PCA on HOG | PCA on LBP] -> SVM.

    Both PCAs whiten, so the RBF kernel sees unit-variance features and
    ``gamma="scale"`` is a sound default. ``hog_components=None`` drops the
    HOG branch (pure eigen faces); ``lbp_components`` adds the texture branch
    (:class:`~facegender.features.LbpFeatures`; the trainer's since 2026-12-04, None keeps a
    pipeline as models before it were built). The search tunes this bare SVM (calibration
    does not change the ranking); the trainer then calibrates the fitted one on
    held-out faces (:func:`facegender.training.train_eigenface.fit_final`).
    """
    def pca(n: int) -> PCA:
        return PCA(n_components=n, whiten=True, svd_solver="randomized", random_state=seed)

    hog: Any = "drop" if hog_components is None else Pipeline(
        [("hog", HogFeatures()), ("pca", pca(hog_components))])
    branches: list[tuple[str, Any]] = [("pca", pca(n_components)), ("hog", hog)]
    if lbp_components is not None:
        branches.append(("lbp", Pipeline([("lbp", LbpFeatures()), ("pca", pca(lbp_components))])))
    features = FeatureUnion(branches)
    svc = SVC(C=C, gamma=gamma, kernel=kernel, class_weight="balanced", random_state=seed,
              cache_size=SVM_CACHE_MB)
    return Pipeline([("features", features), ("svm", svc)])


def build_embedding_pipeline(
    C: float = 1.0, gamma: float | str = "scale", seed: int = 0,
    n_components: int | None = None,
) -> Pipeline:
    """The embedding model's pipeline, uncalibrated: network rows -> StandardScaler [-> PCA]
    -> SVM.

    The network's dimensions have unequal spread, so scaling them lets one RBF ``gamma``
    fit all. ``n_components`` projects wide rows (the 768 columns of the inner layers)
    on their main axes first: the same validation accuracy with 300 of them, in 2.5x less
    time and a third of the file (reports/experiments.md). The trainer calibrates the
    fitted one on held-out faces (:func:`calibrate_on_held_out`).
    """
    from sklearn.preprocessing import StandardScaler

    svc = SVC(C=C, gamma=gamma, kernel="rbf", class_weight="balanced", random_state=seed,
              cache_size=SVM_CACHE_MB)
    steps: list[tuple[str, Any]] = [("scale", StandardScaler())]
    if n_components:
        steps.append(("pca", PCA(n_components=n_components, random_state=seed)))
    return Pipeline([*steps, ("svm", svc)])


def calibrate_on_held_out(pipe: Pipeline, X_cal: np.ndarray, y_cal: np.ndarray) -> Pipeline:
    """The fitted ``pipe`` with its last step (the SVM) frozen and a sigmoid (Platt) learned
    on ``X_cal``: faces neither the SVM nor the search saw (the validation part).

    Why: one SVM fit instead of six (five cross-validated ones for the sigmoid, then the
    final one); both trainers use it (:func:`facegender.training.train_eigenface.fit_final`,
    the embedding trainer).
    """
    from sklearn.frozen import FrozenEstimator

    features, svc = Pipeline(pipe.steps[:-1]), pipe.steps[-1][1]
    calibrated = CalibratedClassifierCV(FrozenEstimator(svc), method="sigmoid")
    return Pipeline([*pipe.steps[:-1], (pipe.steps[-1][0],
                                        calibrated.fit(features.transform(X_cal), y_cal))])


FAST_MAX_ROWS = 64
"""Up to this many rows (the faces of a photo or a video frame) go through the compiled
arithmetic of :mod:`facegender.features.fast` on one BLAS thread: 4.4x faster for one face than
scikit-learn on this 2-core machine (2.4 vs 10.7 ms, same probabilities to 1e-6). Larger
batches (evaluation, batch jobs) keep scikit-learn and its threads."""


def _one_blas_thread() -> Any:
    """One BLAS thread for small products: waking threads costs more than they save, and a
    busy machine (gunicorn runs a worker per core) makes them wait: 9.4 -> 2.4 ms a face."""
    from threadpoolctl import ThreadpoolController

    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


_CONTROLLER: Any = None


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
    age_groups: Pipeline | None = None
    """For an embedding model trained since 2026-12-03: rows to an age group (class ``i`` is
    the manifest's ``age_groups.labels[i]``), each with its own uncertain threshold
    (``uncertain_thresholds[label]``). Faces that look like children get a stricter one:
    their gender is far harder to tell."""
    _fast: Any = field(default=None, init=False, repr=False, compare=False)
    _fast_groups: Any = field(default=None, init=False, repr=False, compare=False)
    _fast_shared: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", "eigenface"))

    @property
    def features(self) -> str:
        """What the pipeline reads: ``"eigenface"`` (preprocessed pixel rows) or ``"embedding"``."""
        return str(self.manifest.get("features", "eigenface"))

    @property
    def align_padding(self) -> float | None:
        """Chip padding of a pixel model trained on aligned faces; None for square crops.

        Models trained before alignment have no such entry and keep reading
        square crops, so their recorded numbers stay true.
        """
        value = self.manifest.get("preprocess", {}).get("align_padding")
        return None if value is None or self.features == "embedding" else float(value)

    @property
    def network_outputs(self) -> tuple[str, ...]:
        """The face network's outputs an embedding model reads, side by side; models
        trained before 2026-12-03 read the 128-d embedding alone."""
        return tuple((self.manifest.get("embedding") or {}).get("outputs", ["embedding"]))

    @property
    def int8(self) -> dict[str, Any] | None:
        """The face network's int8 calibration record when the model was trained on the
        network run in 8-bit integers (:mod:`.features.resnet_int8`, since 2026-12-04);
        None: in float, as every model before."""
        record = (self.manifest.get("embedding") or {}).get("int8_calibration")
        return record if self.features == "embedding" and record else None

    @property
    def threshold(self) -> float:
        """Confidence under which an answer is flagged ``uncertain`` (for adults' faces when
        the model sets one per age group, :meth:`thresholds`)."""
        return float(self.manifest.get("uncertain_threshold", DEFAULT_UNCERTAIN_THRESHOLD))

    def thresholds(self, rows: np.ndarray, widths: np.ndarray | None = None) -> np.ndarray:
        """Each row's uncertain threshold: its guessed age group's (or :attr:`threshold` for
        all), raised to the small faces' one for faces narrower than the manifest's
        ``small_faces.below_px`` (``widths``: the face boxes' widths in original pixels)."""
        table = self._group_table()
        if table is None or not len(rows):
            out = np.full(len(rows), self.threshold)
        else:
            if self._fast_groups is None:
                young_min = self._young_min()
                age_groups = self.age_groups
                assert age_groups is not None  # a table means an age model
                self._fast_groups = compile_groups(age_groups, young_min) or (
                    lambda r: guess_groups(age_groups.predict_proba(r), young_min))
            out = table[np.asarray(self._fast_groups(rows), dtype=np.int64)]
        return self._small_faces_raised(out, widths)

    def _group_table(self) -> np.ndarray | None:
        """Each age group's threshold in the age model's class order; None without one."""
        by_group = self.manifest.get("uncertain_thresholds")
        labels = (self.manifest.get("age_groups") or {}).get("labels")
        if self.age_groups is None or not by_group or not labels:
            return None
        return np.array([float(by_group[label]) for label in labels])

    def _young_min(self) -> float | None:
        return (self.manifest.get("age_groups") or {}).get("young_min_probability")

    def _small_faces_raised(self, out: np.ndarray, widths: np.ndarray | None) -> np.ndarray:
        """``out`` raised to the small faces' threshold for faces narrower than the
        manifest's ``small_faces.below_px``."""
        small = self.manifest.get("small_faces")
        if small and widths is not None and len(out):
            narrow = np.asarray(widths, dtype=np.float64) < float(small["below_px"])
            out = np.where(narrow, np.maximum(out, float(small["threshold"])), out)
        return out

    def predict(self, rows: np.ndarray, widths: np.ndarray | None = None) -> list[Prediction]:
        """Feature rows to one :class:`Prediction` each, uncertain by the row's threshold
        (:meth:`thresholds`; pass the faces' ``widths`` so small faces get theirs).

        When the age model reads the gender pipeline's own features (the eigen-face model's),
        they are computed once for both (:func:`.features.fast.compile_shared`)."""
        if not len(rows):
            return []
        table = self._group_table()
        if self._fast_shared is None:
            self._fast_shared = (table is not None and compile_shared(
                self.pipeline, self.age_groups, self._young_min())) or False
        if self._fast_shared and table is not None and len(rows) <= FAST_MAX_ROWS:
            features, gender, groups = self._fast_shared
            with _one_blas_thread():
                x = np.asarray(features(np.asarray(rows, dtype=np.float64)), dtype=np.float64)
                proba = np.asarray(gender(x), dtype=np.float64)
                limits = table[np.asarray(groups(x), dtype=np.int64)]
            return self.predictions(proba, self._small_faces_raised(limits, widths))
        return self.predictions(self.predict_proba(rows), self.thresholds(rows, widths))

    @property
    def pca(self) -> PCA | None:
        """The PCA on pixels (the eigen faces), wherever the pipeline keeps it; None for an
        embedding model (a PCA there projects network values, not pixels)."""
        if self.features == "embedding":
            return None
        step = self.pipeline.named_steps.get("features", self.pipeline.named_steps.get("pca"))
        if isinstance(step, FeatureUnion):
            step = dict(step.transformer_list).get("pca")
        return step if isinstance(step, PCA) else None

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        """Feature rows to ``(n, 2)`` probabilities ``[female, male]``.

        Rows are ``(n, 10000)`` preprocessed crops, or ``(n, 128)`` embeddings
        when :attr:`features` is ``"embedding"``.
        """
        if len(rows) == 0:
            return np.empty((0, 2))
        if self._fast is None:
            self._fast = compile_pipeline(self.pipeline) or False
        if self._fast and len(rows) <= FAST_MAX_ROWS:
            with _one_blas_thread():
                return np.asarray(self._fast(rows), dtype=np.float64)
        return np.asarray(self.pipeline.predict_proba(rows), dtype=np.float64)

    def predictions(self, proba: np.ndarray, thresholds: np.ndarray | None = None
                    ) -> list[Prediction]:
        """Turn probability rows into :class:`Prediction` objects; uncertain below
        ``thresholds`` (one per row; :attr:`threshold` for all when None)."""
        out = []
        limits = np.full(len(proba), self.threshold) if thresholds is None else thresholds
        for (p_f, p_m), limit in zip(proba, limits, strict=True):
            gender = GENDERS[int(p_m > p_f)]
            uncertain = bool(max(p_f, p_m) < limit)
            out.append(Prediction(gender, float(p_f), float(p_m), uncertain,
                                  None if thresholds is None else float(limit)))
        return out

    def classify_crops(self, crops: list[np.ndarray]) -> list[Prediction]:
        """Classify face crops (any size, BGR or gray ``uint8``), one Prediction each.

        An embedding model, or an eigen-face model trained on aligned chips,
        aligns each crop as one face box filling it.
        """
        if self.features == "embedding":
            return self.predict(embed_crops(crops, self.network_outputs, self.int8),
                                np.array([c.shape[1] for c in crops]))
        if self.align_padding is not None:
            crops = [face_images(c, [whole_image_box(c)], self.align_padding)[0] for c in crops]
        return self.predict(preprocess_batch(crops))

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
