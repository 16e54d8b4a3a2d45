"""Faces in videos: the tracker, the real clip, a synthetic one-face clip, bad input, the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facegender.cli import main
from facegender.errors import BadRequest, UnprocessableImage, UnsupportedMedia
from facegender.types import GENDERS, Box, Face, Prediction
from facegender.video.annotate import analyze_video, annotate_video, iter_frames
from facegender.video.track import IouTracker, greedy_match, iou_matrix
from facegender.video.writer import H264Writer, ffmpeg_exe

CLIP = "video/short_hamilton_clip.mp4"


def face(x: int, y: int, p_male: float, size: int = 50) -> Face:
    gender = GENDERS[int(p_male > 0.5)]
    return Face(Box(x, y, size, size), Prediction(gender, 1 - p_male, p_male, False))


def write_avi(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    """A Motion-JPEG AVI through OpenCV's own writer (no FFmpeg needed)."""
    h, w = frames[0].shape[:2] if frames else (64, 64)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
                   check=True, timeout=60)


def count_frames(path: Path) -> tuple[int, int, int]:
    """Frames decoded by OpenCV, and their width and height."""
    cap = cv2.VideoCapture(str(path))
    try:
        n, shape = 0, (0, 0)
        while True:
            ok, frame = cap.read()
            if not ok:
                return n, shape[1], shape[0]
            n, shape = n + 1, frame.shape[:2]
    finally:
        cap.release()


# --- the tracker, on made-up detections ---------------------------------------------------

def test_iou_matrix_agrees_with_box_iou() -> None:
    a = [Box(0, 0, 10, 10), Box(5, 5, 10, 10)]
    b = [Box(5, 0, 10, 10), Box(100, 100, 4, 4), Box(0, 0, 10, 10)]
    m = iou_matrix(a, b)
    assert m.shape == (2, 3)
    assert np.allclose(m, [[x.iou(y) for y in b] for x in a])
    assert iou_matrix([], b).shape == (0, 3)


def test_greedy_match_takes_best_overlap_first() -> None:
    iou = np.array([[0.9, 0.8], [0.85, 0.1]])
    assert sorted(greedy_match(iou, 0.3)) == [(0, 0)]  # row 1's only good column is taken
    assert greedy_match(np.array([[0.2]]), 0.3) == []


def test_tracker_follows_moving_faces_and_averages() -> None:
    tracker = IouTracker(max_missed=2)
    for i in range(6):  # two faces drifting right; the left one flips its label each frame
        tracks = tracker.update(i, i / 25, [face(10 + 3 * i, 10, 0.4 if i % 2 else 0.9),
                                            face(200 - 2 * i, 20, 0.2)])
        assert [t.track_id for t in tracks] == [1, 2]
    left, right = tracker.tracks
    assert left.frames_seen == 6 and left.gender == "male"
    assert left.confidence == pytest.approx((3 * 0.9 + 3 * 0.4) / 6)
    assert right.gender == "female" and right.first_time == 0 and right.last_frame == 5


def test_tracker_ends_a_track_after_missed_frames() -> None:
    tracker = IouTracker(max_missed=1)
    tracker.update(0, 0.0, [face(10, 10, 0.9)])
    tracker.update(1, 0.1, [])  # one miss: still alive
    assert tracker.update(2, 0.2, [face(12, 10, 0.9)])[0].track_id == 1
    tracker.update(3, 0.3, [])
    tracker.update(4, 0.4, [])  # second miss in a row: ended
    assert tracker.update(5, 0.5, [face(12, 10, 0.9)])[0].track_id == 2
    assert [t.track_id for t in tracker.finished] == [1]


def test_a_track_needs_the_bar_its_faces_needed() -> None:
    """A small face needs 0.97 in every frame: its track at 0.92 is not sure (the model's
    single adults' bar, 0.75, let it be). One frame read as a child's (never sure) among four
    adult ones does not make the track never sure."""
    def seen(p_male: float, bar: float) -> Face:
        return Face(Box(10, 10, 50, 50),
                    Prediction(GENDERS[int(p_male > 0.5)], 1 - p_male, p_male,
                               max(p_male, 1 - p_male) < bar, bar))

    tracker = IouTracker(uncertain_below=0.75)
    for i in range(5):
        tracker.update(i, i / 25, [seen(0.92, 0.97)])
    small = tracker.tracks[0]
    assert small.confidence == pytest.approx(0.92) and small.prediction.uncertain
    assert small.to_dict()["uncertain_below"] == pytest.approx(0.97)
    tracker = IouTracker(uncertain_below=0.75)
    for i, bar in enumerate([0.75, 1.01, 0.75, 0.75, 0.75]):
        tracker.update(i, i / 25, [seen(0.9, bar)])
    assert not tracker.tracks[0].prediction.uncertain


def test_tracks_of_faces_never_answered_surely_are_not_sure(shared_data) -> None:
    """The shipped default model on the real clip: a person every frame of whom was uncertain
    (small, dim faces in the audience) is uncertain as a track; two were "male 84%" and
    "male 90%" (both women) before tracks took their faces' bars."""
    from facegender.persist import load_model

    model = load_model()
    tracker = IouTracker(max_missed=3, uncertain_below=model.threshold)
    sure_frames: dict[int, bool] = {}
    for result in analyze_video(shared_data / CLIP, model, every=3, tracker=tracker):
        for f in result.faces:
            sure_frames[f.track_id] = (sure_frames.get(f.track_id, False)
                                       or not f.face.prediction.uncertain)
    never = [t for t in tracker.tracks if not sure_frames[t.track_id]]
    assert len(never) >= 5  # the audience
    assert all(t.prediction.uncertain for t in never)


# --- the real clip -------------------------------------------------------------------------

def test_clip_annotated(tiny_model, shared_data, tmp_path) -> None:
    out, jsonl = tmp_path / "annotated.mp4", tmp_path / "frames.jsonl"
    summary = annotate_video(shared_data / CLIP, out, tiny_model, every=3, max_frames=150,
                             jsonl_path=jsonl, progress=False)
    assert (summary.frames_read, summary.frames_analyzed) == (150, 50)
    assert summary.info.fps == pytest.approx(29.97, abs=0.01)
    assert summary.duration_s == pytest.approx(150 / 29.97)
    # Two people on stage in the first shot, one in the close-up, then dim, turned faces of
    # the audience (1-2 s, 3-5 s) that BlazeFace finds; a few flickers at most.
    assert 2 <= len(summary.tracks) <= 9
    for t in summary.tracks:
        assert t.gender in GENDERS and 0.5 <= t.confidence <= 1 and t.frames_seen >= 3
    assert count_frames(out) == (150, 640, 360)
    probe = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(out)], capture_output=True,
                           text=True, timeout=30).stderr
    assert "Video: h264" in probe and "yuv420p" in probe
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [d["frame"] for d in lines] == list(range(0, 150, 3))
    assert all(len(d["faces"]) <= 3 for d in lines)
    assert sum(len(d["faces"]) >= 1 for d in lines) >= 25
    assert {f["track"]["id"] for d in lines for f in d["faces"]} >= {
        t.track_id for t in summary.tracks}
    assert json.loads(json.dumps(summary.to_dict()))["tracks"][0]["gender"] in GENDERS
    assert not list(tmp_path.glob(".*.part"))


def test_analyze_video_streams_frames_with_steady_ids(tiny_model, shared_data) -> None:
    tracker = IouTracker(max_missed=3)
    results = list(analyze_video(shared_data / CLIP, tiny_model, every=5, max_frames=20,
                                 tracker=tracker))
    assert [r.index for r in results] == [0, 5, 10, 15]
    assert results[1].time_s == pytest.approx(5 / 29.97)
    assert all(1 <= len(r.faces) <= 2 for r in results)
    assert {f.track_id for r in results for f in r.faces} == {1, 2}  # same two people
    assert len(tracker.tracks) == 2


def test_synthetic_clip_one_face_one_track(tiny_model, shared_data, tmp_path) -> None:
    photo = cv2.imread(str(shared_data / "detection/portraits/obama.jpg"))
    photo = cv2.resize(photo, (320, 400), interpolation=cv2.INTER_AREA)
    frames = [np.roll(photo, (i, 2 * i), axis=(0, 1)) for i in range(20)]
    clip = write_avi(tmp_path / "drift.avi", frames)
    summary = annotate_video(clip, tmp_path / "drift.mp4", tiny_model, every=2,
                             progress=False)
    assert (summary.frames_read, summary.frames_analyzed) == (20, 10)
    assert len(summary.tracks) == 1 and summary.brief_tracks == 0
    assert summary.tracks[0].frames_seen == 10
    assert count_frames(tmp_path / "drift.mp4") == (20, 320, 400)


def test_writer_makes_odd_sizes_even(tmp_path) -> None:
    with H264Writer(tmp_path / "odd.mp4", 33, 21, 10) as writer:
        for i in range(5):
            writer.write(np.full((21, 33, 3), 40 * i, np.uint8))
    assert count_frames(tmp_path / "odd.mp4") == (5, 32, 20)


# --- bad input -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bad_videos(tmp_path_factory, shared_data) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad-videos")
    clip = (shared_data / CLIP).read_bytes()
    (d / "text.mp4").write_text("just some text, renamed to look like a video\n")
    (d / "truncated.mp4").write_bytes(clip[: len(clip) // 3])  # its index is at the end
    ffmpeg("-i", str(shared_data / CLIP), "-c", "copy", "-movflags", "+faststart",
           str(d / "faststart.mp4"))
    (d / "truncated_faststart.mp4").write_bytes((d / "faststart.mp4").read_bytes()[:250_000])
    ffmpeg("-f", "lavfi", "-i", "color=size=64x64", "-frames:v", "0", "-c:v", "libx264",
           str(d / "zero.mp4"))
    write_avi(d / "zero.avi", [])
    ffmpeg("-f", "lavfi", "-i", "anullsrc", "-t", "0.5", str(d / "sound.mp4"))
    write_avi(d / "huge.avi", [np.zeros((16, 8200, 3), np.uint8)] * 2)
    (d / "empty.mp4").write_bytes(b"")
    return {p.name: p for p in d.iterdir()}


@pytest.mark.parametrize(("name", "error", "words"), [
    ("text.mp4", UnsupportedMedia, "no known video format"),
    ("truncated.mp4", UnsupportedMedia, "truncated"),
    ("truncated_faststart.mp4", UnsupportedMedia, "truncated"),
    ("zero.mp4", UnprocessableImage, "no frames"),
    ("zero.avi", UnprocessableImage, "no frames"),
    ("sound.mp4", UnsupportedMedia, "no video"),
    ("huge.avi", UnprocessableImage, "8200x16"),
    ("empty.mp4", UnsupportedMedia, "empty"),
    ("missing.mp4", UnsupportedMedia, "no such file"),
])
def test_bad_videos_raise_clear_errors(bad_videos, tmp_path, name, error, words) -> None:
    path = bad_videos.get(name, tmp_path / name)
    with pytest.raises(error, match=words):
        for _ in iter_frames(path, every=25):  # skipping frames keeps the truncated one quick
            pass


def test_bad_options(tiny_model, shared_data, tmp_path) -> None:
    clip = shared_data / CLIP
    with pytest.raises(BadRequest, match="every=0"):
        next(iter_frames(clip, every=0))
    with pytest.raises(BadRequest, match="max_frames=0"):
        annotate_video(clip, tmp_path / "a.mp4", tiny_model, max_frames=0, progress=False)
    with pytest.raises(BadRequest, match="mp4"):
        annotate_video(clip, tmp_path / "a.avi", tiny_model, progress=False)
    with pytest.raises(BadRequest, match="camera index"):
        next(iter_frames(-1))
    with pytest.raises(BadRequest, match="overwrite the input"):
        annotate_video(clip, tmp_path / "a.mp4", tiny_model, jsonl_path=clip, progress=False)
    assert not list(tmp_path.iterdir())
    (tmp_path / "a-file").write_text("")
    with pytest.raises(BadRequest, match="cannot write"):
        annotate_video(clip, tmp_path / "a-file" / "a.mp4", tiny_model, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


def test_frame_index_and_time(shared_data) -> None:
    got = [(i, round(t, 3), f.shape) for i, t, f in iter_frames(shared_data / CLIP, every=4,
                                                                 max_frames=10)]
    assert got == [(0, 0.0, (360, 640, 3)), (4, 0.133, (360, 640, 3)),
                   (8, 0.267, (360, 640, 3))]


# --- the command line ----------------------------------------------------------------------

def test_cli_video(tiny_model_dir, shared_data, tmp_path) -> None:
    out, jsonl = tmp_path / "out.mp4", tmp_path / "f.jsonl"
    res = CliRunner().invoke(main, ["video", str(shared_data / CLIP), "--out", str(out),
                                    "--jsonl", str(jsonl), "--every", "5", "--max-frames", "20",
                                    "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    assert "20 frames read" in res.output and "4 analysed" in res.output
    assert "2 track(s)" in res.output and "#1 " in res.output
    assert count_frames(out)[0] == 20 and len(jsonl.read_text().splitlines()) == 4


def test_cli_video_track_table_columns_line_up(tiny_model_dir, shared_data, tmp_path) -> None:
    """Tracks #1 to #10 and more: each column starts at the same place on every line."""
    res = CliRunner().invoke(main, ["video", str(shared_data / CLIP), "--out",
                                    str(tmp_path / "out.mp4"), "--every", "3",
                                    "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    rows = [line for line in res.output.splitlines() if line.startswith("  #")]
    ids = [int(line.split()[0][1:]) for line in rows]
    assert min(ids) < 10 <= max(ids)  # ids of one and of two digits
    assert len({line.index(" s ") for line in rows}) == 1
    assert len({line.index(" frames") for line in rows}) == 1


@pytest.mark.parametrize("name", ["text.mp4", "zero.avi", "truncated.mp4"])
def test_cli_video_bad_input_exit_2(tiny_model_dir, bad_videos, tmp_path, name) -> None:
    res = CliRunner().invoke(main, ["video", str(bad_videos[name]), "--out",
                                    str(tmp_path / "o.mp4"), "--model", str(tiny_model_dir)])
    assert res.exit_code == 2, res.output
    assert "error:" in res.output and "Traceback" not in res.output
    assert not list(tmp_path.iterdir())
