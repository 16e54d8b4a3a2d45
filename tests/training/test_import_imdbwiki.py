"""``facegender data import-imdb-wiki`` on a real-format wiki.mat over real photos.

The .mat is written with scipy in the layout of the data set's own file: one
struct ``wiki`` whose fields are 1 x N rows (numbers) or 1 x N cells
(strings, boxes), dates of birth as MATLAB serial date numbers.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from facegender.cli import main
from facegender.errors import BadRequest
from facegender.training.data import scan_labeled
from facegender.training.imdbwiki import datenum_to_date, import_imdbwiki, read_mat

NAN, INF = float("nan"), float("inf")


def datenum(d: date) -> float:
    """MATLAB's serial date number of ``d`` (days from the year 0), at noon."""
    return d.toordinal() + 366 + 0.5


# full_path, gender, dob, photo_taken, name, face_score, second_face_score, photo or None
ENTRIES = [
    ("00/100_1950-06-15_2000.jpg", 0.0, date(1950, 6, 15), 2000, "Ann A", 4.2, NAN, "female"),
    ("00/101_1980-05-05_2009.jpg", 1.0, date(1980, 5, 5), 2009, "Bob B", 2.5, NAN, "male"),
    ("01/102_1970-01-01_2001.jpg", NAN, date(1970, 1, 1), 2001, "Cy C", 3.0, NAN, "male"),
    ("01/103_1960-02-02_1990.jpg", 0.0, date(1960, 2, 2), 1990, "Di D", -INF, NAN, "female"),
    ("02/104_1975-03-03_2005.jpg", 1.0, date(1975, 3, 3), 2005, "Ed E", 0.5, NAN, "male"),
    ("02/105_1985-04-04_2012.jpg", 0.0, date(1985, 4, 4), 2012, "Fay F", 3.3, 1.7, "female"),
    ("03/106_1990-07-07_2015.jpg", 1.0, date(1990, 7, 7), 2015, "Gus G", 3.1, NAN, None),
    ("03/107_1800-01-01_2010.jpg", 0.0, date(1800, 1, 1), 2010, "", 1.9, NAN, "female"),
]


@pytest.fixture(scope="module")
def wiki_crop(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """An unpacked wiki_crop/ of a few real IMDB-WIKI photos with its wiki.mat."""
    from scipy.io import savemat

    root = tmp_path_factory.mktemp("wiki_crop")
    sources = {g: sorted((shared_data / "imdbwiki" / g).iterdir()) for g in ("female", "male")}
    for i, (path, *_, photo) in enumerate(ENTRIES):
        if photo:
            (root / path).parent.mkdir(exist_ok=True)
            shutil.copy(sources[photo][i], root / path)

    def cells(values: list) -> np.ndarray:
        out = np.empty((1, len(values)), dtype=object)
        for i, v in enumerate(values):
            out[0, i] = v
        return out

    wiki = {
        "dob": np.array([[datenum(e[2]) for e in ENTRIES]]),
        "photo_taken": np.array([[e[3] for e in ENTRIES]], dtype=np.uint16),
        "full_path": cells([e[0] for e in ENTRIES]),
        "gender": np.array([[e[1] for e in ENTRIES]]),
        "name": cells([e[4] for e in ENTRIES]),
        "face_location": cells([np.array([[10.0, 12.0, 90.0, 95.0]]) for _ in ENTRIES]),
        "face_score": np.array([[e[5] for e in ENTRIES]]),
        "second_face_score": np.array([[e[6] for e in ENTRIES]]),
    }
    savemat(root / "wiki.mat", {"wiki": wiki})
    return root


def test_the_mat_has_the_data_sets_layout(wiki_crop: Path) -> None:
    from scipy.io import loadmat

    meta = loadmat(wiki_crop / "wiki.mat")["wiki"][0, 0]
    assert meta.dtype.names == ("dob", "photo_taken", "full_path", "gender", "name",
                                "face_location", "face_score", "second_face_score")
    assert meta["full_path"][0][0][0] == ENTRIES[0][0]  # as the data set's readers index it
    assert meta["dob"].shape == (1, len(ENTRIES))


def test_read_mat(wiki_crop: Path) -> None:
    entries = read_mat(wiki_crop / "wiki.mat")
    assert [e.full_path for e in entries] == [e[0] for e in ENTRIES]
    assert [e.gender for e in entries[:3]] == ["female", "male", None]
    assert entries[0].dob == date(1950, 6, 15) and entries[0].age == 50
    assert entries[1].age == 29 and entries[1].name == "Bob B"
    assert math.isinf(entries[3].face_score) and entries[5].second_face_score == 1.7
    assert entries[0].second_face_score is None
    assert entries[7].name == "" and entries[7].age is None  # born 1800, photo 2010


def test_datenum_conversion() -> None:
    assert datenum_to_date(datenum(date(1981, 5, 5))) == date(1981, 5, 5)
    assert datenum_to_date(367.0) == date(1, 1, 1)
    assert datenum_to_date(NAN) is None and datenum_to_date(1.0) is None


def test_import_makes_a_labeled_folder(wiki_crop: Path, tmp_path: Path) -> None:
    summary = import_imdbwiki(wiki_crop, tmp_path / "out")
    assert summary["entries"] == 8 and summary["kept"] == 3
    assert (summary["female"], summary["male"]) == (2, 1)
    assert summary["dropped"] == {"no_gender": 1, "no_face": 1, "low_score": 1,
                                  "second_face": 1, "missing": 1}
    assert summary["age_unknown"] == 1
    labeled = scan_labeled(tmp_path / "out")
    assert labeled.kind == "raw" and labeled.counts() == {"female": 2, "male": 1}
    rows = list(csv.DictReader((tmp_path / "out" / "labels.csv").read_text().splitlines()))
    by = {r["source"]: r for r in rows}
    ann = by["00/100_1950-06-15_2000.jpg"]
    assert ann["path"] == "female/00_100_1950-06-15_2000.jpg" and ann["age"] == "50"
    assert ann["dob"] == "1950-06-15" and ann["name"] == "Ann A"
    assert by["03/107_1800-01-01_2010.jpg"]["age"] == ""
    out_file = tmp_path / "out" / ann["path"]
    assert out_file.read_bytes() == (wiki_crop / ann["source"]).read_bytes()


def test_import_is_resumable_and_takes_options(wiki_crop: Path, tmp_path: Path) -> None:
    import_imdbwiki(wiki_crop, tmp_path / "out")
    again = import_imdbwiki(wiki_crop / "wiki.mat", tmp_path / "out", allow_second_face=True,
                            min_score=0.1, copy=True)
    assert again["kept"] == 5 and again["exists"] == 3 and again["written"] == 2
    assert again["dropped"]["second_face"] == again["dropped"]["low_score"] == 0


def test_cli(wiki_crop: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["data", "import-imdb-wiki", str(wiki_crop), str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["kept"] == 3
    missing = runner.invoke(main, ["data", "import-imdb-wiki", str(tmp_path), str(tmp_path / "x")])
    assert missing.exit_code == 2 and "no wiki.mat or imdb.mat" in missing.output


def test_not_an_imdbwiki_mat(tmp_path: Path) -> None:
    from scipy.io import savemat

    savemat(tmp_path / "other.mat", {"celeba": np.zeros((1, 3))})
    with pytest.raises(BadRequest, match="not an IMDB-WIKI struct"):
        read_mat(tmp_path / "other.mat")
    (tmp_path / "junk.mat").write_bytes(b"not matlab")
    with pytest.raises(BadRequest, match="not a MATLAB file"):
        read_mat(tmp_path / "junk.mat")
