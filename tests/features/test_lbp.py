"""LBP histograms, the eigen-face model's texture branch (issue 18)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data
from skimage.transform import resize

from facegender.features import FACE_SIZE, LbpFeatures
from facegender.features.lbp import BINS, lbp_codes


def face_rows() -> np.ndarray:
    """skimage's astronaut and camera man, as the 100x100 rows in [0, 1] the model reads."""
    out = []
    for image in (data.astronaut()[30:230, 150:350].mean(axis=2) / 255, data.camera() / 255):
        out.append(resize(image, (FACE_SIZE, FACE_SIZE), anti_aliasing=True).ravel())
    return np.stack(out)


def test_58_uniform_patterns_and_one_bin_for_the_rest() -> None:
    flat = np.full((1, 5, 5), 7, np.uint8)  # every neighbour as bright: one uniform pattern
    assert len(np.unique(lbp_codes(flat))) == 1
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (4, 50, 50), dtype=np.uint8)
    codes = lbp_codes(noise)
    assert codes.min() >= 0 and codes.max() == BINS - 1 and len(np.unique(codes)) == BINS


def test_an_edge_is_a_uniform_pattern_and_alternation_is_not() -> None:
    """A brighter row above the centre (an edge: one run of ones) gets its own bin; ones
    and zeros alternating around the centre (noise) share the last one."""
    edge = np.array([[[200, 200, 200], [10, 100, 10], [10, 10, 10]]], np.uint8)
    alternating = np.array([[[200, 10, 200], [10, 100, 10], [200, 10, 200]]], np.uint8)
    assert lbp_codes(edge)[0, 1, 1] < BINS - 1
    assert lbp_codes(alternating)[0, 1, 1] == BINS - 1
    assert lbp_codes(edge)[0, 1, 1] != lbp_codes(edge[:, ::-1])[0, 1, 1]  # above vs below


def test_histograms_are_per_cell_and_normalised() -> None:
    rows = face_rows()
    lbp = LbpFeatures().fit(rows)
    out = lbp.transform(rows)
    assert out.shape == (2, 100 * BINS) and out.dtype == np.float32
    cells = out.reshape(2, 100, BINS)
    np.testing.assert_allclose((cells ** 2).sum(axis=2), 1.0, rtol=1e-5)  # Hellinger
    assert not np.allclose(out[0], out[1])  # two faces, two textures
    brighter = np.clip(rows * 0.8 + 0.1, 0, 1)  # the same face in other light
    assert np.abs(lbp.transform(brighter) - out).mean() < 0.2 * np.abs(out[0] - out[1]).mean()
    with pytest.raises(ValueError):
        LbpFeatures(cell=30).fit(rows)
