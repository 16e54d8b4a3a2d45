"""The head's pose from dlib's 5 landmarks: how far it is turned (yaw) and tilted (pitch).

Why: most answers on photos unlike the training data that are wrong yet sure are faces
turned far away (issue 18). Five points cannot give angles in degrees, but two ratios
rank faces by how turned they are, in any image frame and at any size:

- ``yaw``: how far the nose base sits left or right of the eyes' midpoint, along the eye
  line, in inter-eye distances (0 facing the camera; about 0.3 and more in profile);
- ``pitch``: how far the nose base sits below the eye line, in inter-eye distances
  (smaller when the head tips back or the face is turned far).

Pure functions on ``(n, 5, 2)`` arrays of points as :meth:`.landmarks.Aligner.landmarks`
gives them.
"""

from __future__ import annotations

import numpy as np


def head_pose(points: np.ndarray) -> np.ndarray:
    """``(n, 2)`` rows of ``(yaw, pitch)`` for ``(n, 5, 2)`` landmark points.

    ``yaw`` is signed (its sign says which way the head turns); a face whose eye corners
    coincide (no inter-eye distance) gets NaNs.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 5, 2)
    eye_a, eye_b = points[:, 0:2].mean(axis=1), points[:, 2:4].mean(axis=1)
    across = eye_b - eye_a
    dist = np.hypot(across[:, 0], across[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = across / dist[:, None]
        rel = points[:, 4] - (eye_a + eye_b) / 2
        yaw = np.einsum("ij,ij->i", rel, unit) / dist
        down = np.column_stack([-unit[:, 1], unit[:, 0]])
        pitch = np.abs(np.einsum("ij,ij->i", rel, down)) / dist
    return np.column_stack([yaw, pitch])
