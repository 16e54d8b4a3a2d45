"""Save and load a :class:`GenderModel`: one skops file plus ``manifest.json``.

The file holds the gender pipeline, or a dict of it (``"gender"``) and the age-group
pipeline (``"age_groups"``) of a model that sets its uncertain threshold by age group.

skops, never pickle: loading refuses any type not on our trusted list, so a
model file from elsewhere cannot run code. The manifest records the file's
sha256, checked before loading, so an altered or truncated file is refused
with a clear message instead of a confusing error deep in sklearn.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ModelError
from .model import GenderModel

log = logging.getLogger(__name__)

MODEL_FILE = "model.skops"
MANIFEST_FILE = "manifest.json"
DEFAULT_MODEL = "embedding"
"""The best end-to-end result on photos unlike the training data, within the speed goal
(MODEL_CARD.md); ``"eigenface"`` is the explainable one."""

# The only non-builtin types a facegender model may contain.
TRUSTED_TYPES = [
    "sklearn.pipeline.Pipeline",
    "sklearn.pipeline.FeatureUnion",
    "facegender.features.HogFeatures",  # how models saved before the stage folders name it
    "facegender.features.hog.HogFeatures",
    "facegender.features.lbp.LbpFeatures",
    "sklearn.decomposition._pca.PCA",
    "sklearn.svm._classes.SVC",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.frozen._frozen.FrozenEstimator",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.utils._bunch.Bunch",
    "numpy.dtype",
    "numpy.ndarray",
    "builtins.slice",
]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


STORED_AS_FLOAT32 = {"SVC": "support_vectors_", "PCA": "components_"}
"""The large fitted arrays a model file keeps in 32-bit floats (class name -> attribute),
restored to 64 bits on load. Why: they are nearly all of a model's bytes (the eigen-face
model's 11,979 support vectors of 400 values and its three PCAs: 47.5 MB in float64, 28.4 MB
so), and 32-bit floats keep 7 significant digits, far below what an SVM's answer turns on."""


def _cast_large_arrays(obj: Any, dtype: Any, seen: set[int] | None = None) -> None:
    """Cast :data:`STORED_AS_FLOAT32`'s arrays to ``dtype`` in place, wherever they sit in a
    fitted model (pipelines, unions, calibrated and frozen estimators, dicts of them)."""
    import numpy as np

    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, dict):
        children: Any = obj.values()
    elif isinstance(obj, (list, tuple)):
        children = obj
    elif type(obj).__module__.split(".")[0] in {"sklearn", "facegender"} and hasattr(
            obj, "__dict__"):
        attribute = STORED_AS_FLOAT32.get(type(obj).__name__)
        value = getattr(obj, attribute, None) if attribute else None
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            setattr(obj, attribute, value.astype(dtype))  # type: ignore[arg-type]
        children = vars(obj).values()
    else:
        return
    for child in children:
        _cast_large_arrays(child, dtype, seen)


def save_model(model: GenderModel, out_dir: str | Path) -> Path:
    """Write ``model.skops`` and ``manifest.json`` (with the file's sha256) to ``out_dir``;
    the large arrays as 32-bit floats (:data:`STORED_AS_FLOAT32`), the model in memory as it was."""
    import copy

    import numpy as np
    import skops.io as sio

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / MODEL_FILE
    stored = copy.deepcopy(model.pipeline if model.age_groups is None
                           else {"gender": model.pipeline, "age_groups": model.age_groups})
    _cast_large_arrays(stored, np.float32)
    sio.dump(stored, path)
    manifest = dict(model.manifest)
    manifest.setdefault("created", datetime.now(UTC).isoformat(timespec="seconds"))
    manifest["file"] = MODEL_FILE
    manifest["sha256"] = sha256_file(path)
    manifest["size_bytes"] = path.stat().st_size
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    model.manifest = manifest
    return out


def default_model_dir(name: str = DEFAULT_MODEL) -> Path:
    """Folder of a model shipped inside the package."""
    return Path(str(resources.files("facegender") / "models" / name))


def resolve_model_dir(path: str | Path | None = None) -> Path:
    """A model folder from a path, a shipped model's name (``"embedding"``) or None (default).

    An existing path wins over a shipped name, so a local folder called
    ``embedding`` is loaded as given.
    """
    if path is None:
        return default_model_dir()
    folder = Path(path)
    if not folder.exists() and str(path).isidentifier():
        shipped = default_model_dir(str(path))
        if shipped.is_dir():
            return shipped
    return folder


def shipped_models() -> list[str]:
    """Names of the models shipped inside the package."""
    root = default_model_dir().parent
    return sorted(p.name for p in root.iterdir() if (p / MANIFEST_FILE).is_file())


def _existing_model_dir(path: str | Path | None) -> Path:
    """The model folder for ``path`` (a file inside it counts), or a ModelError if missing."""
    folder = resolve_model_dir(path)
    if not folder.exists():
        raise ModelError(f"no model at {folder}: give a model folder or one of the shipped "
                         f"models {shipped_models()}")
    return folder.parent if folder.is_file() else folder


def load_model(path: str | Path | None = None) -> GenderModel:
    """Load a model folder, a shipped model by name, or the shipped default when None.

    Raises
    ------
    ModelError
        Folder or files missing, manifest unreadable, sha256 mismatch, or a
        file skops cannot load with the trusted types.
    """
    folder = _existing_model_dir(path)
    manifest = read_manifest(folder)
    model_path = folder / manifest.get("file", MODEL_FILE)
    if not model_path.is_file():
        raise ModelError(f"model file {model_path} is missing")
    digest = sha256_file(model_path)
    if digest != manifest.get("sha256"):
        raise ModelError(
            f"model file {model_path} does not match its manifest "
            f"(sha256 {digest[:12]}..., expected {str(manifest.get('sha256'))[:12]}...): "
            "it was altered or is corrupt; retrain with 'facegender train'"
        )
    import numpy as np
    import skops.io as sio

    try:
        untrusted = [t for t in sio.get_untrusted_types(file=model_path) if t not in TRUSTED_TYPES]
        if untrusted:
            raise ModelError(f"model file {model_path} holds untrusted types: {untrusted}")
        loaded = sio.load(model_path, trusted=TRUSTED_TYPES)
        _cast_large_arrays(loaded, np.float64)  # libsvm reads 64-bit support vectors
        parts = loaded if isinstance(loaded, dict) else {"gender": loaded}
        pipeline, age_groups = parts["gender"], parts.get("age_groups")
    except ModelError:
        raise
    except Exception as exc:  # skops raises many kinds on a bad file; all mean "corrupt"
        raise ModelError(f"model file {model_path} cannot be loaded: {exc}") from exc
    _check_weights(manifest, folder)
    log.info("loaded model %s %s from %s", manifest.get("name"), manifest.get("version"), folder)
    return GenderModel(pipeline=pipeline, manifest=manifest, age_groups=age_groups)


def _check_weights(manifest: dict[str, Any], folder: Path) -> None:
    """Refuse an embedding model trained on other network weights than those installed.

    Its classifier reads vectors of one network: another release of
    ``face_recognition_models`` would give other vectors and confident wrong
    answers. Manifests written before the weights were recorded are trusted.
    """
    recorded = (manifest.get("embedding") or {}).get("weights_sha256")
    if manifest.get("features") != "embedding" or not recorded:
        return
    from .features import weights_sha256

    installed = weights_sha256()
    if installed != recorded:
        raise ModelError(
            f"model {folder} was trained on other face network weights (sha256 "
            f"{recorded[:12]}...) than the installed face_recognition_models "
            f"({installed[:12]}...); install the version it names or retrain it")


def read_manifest(folder: Path) -> dict[str, Any]:
    """Parse ``manifest.json`` in ``folder`` or raise :class:`ModelError`."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise ModelError(f"no model at {folder}: {MANIFEST_FILE} is missing")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ModelError(f"{path} must hold a JSON object")
    return manifest


_shared: dict[tuple[str, str], GenderModel] = {}
_shared_lock = threading.Lock()


def load_shared(path: str | Path | None = None) -> GenderModel:
    """:func:`load_model`, but one loaded object per model file and process.

    Why: the web app loads the default and every selectable model each time
    an app is built (tests build many; the eigen-face model takes about a
    second to load), and the models are only read after loading. The key
    holds the manifest's sha256, so a retrained model in the same folder is
    loaded afresh; the file is still checked against it on the first load.
    """
    folder = _existing_model_dir(path)
    key = (str(folder.resolve()), str(read_manifest(folder).get("sha256")))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = load_model(path)
        return _shared[key]
