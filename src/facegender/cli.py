"""The ``facegender`` command line: a thin click layer over the library.

Errors from the library (:class:`facegender.errors.FaceGenderError`) become a
one-line message on stderr and exit code 2 for bad input (the user's to fix)
or 1 for anything else; never a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from .errors import BadRequest, FaceGenderError, ModelError, UnprocessableImage, UnsupportedMedia

INPUT_ERRORS = (BadRequest, UnsupportedMedia, UnprocessableImage)

MODEL_HELP = "Model folder or shipped name: embedding (default, accurate), eigenface (explainable)."


def _fail(exc: FaceGenderError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    sys.exit(2 if isinstance(exc, INPUT_ERRORS) else 1)


def _load(model_path: str | None) -> Any:
    from .persist import load_model

    try:
        return load_model(model_path)
    except ModelError as exc:
        _fail(exc)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="facegender")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details.")
def main(verbose: bool) -> None:
    """Find every face in a photo and tell, for each, female or male."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@main.group()
def data() -> None:
    """Look at labeled photo folders, or make one from IMDB-WIKI."""


@data.command("inspect")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Report folder (default: FOLDER-inspect in the current directory).")
def data_inspect(folder: Path, out: Path | None) -> None:
    """Count photos per class, sizes, colour modes and unreadable files; write a report."""
    from .training import write_inspect_report

    try:
        summary = write_inspect_report(folder, out or Path(f"{folder.name}-inspect"))
    except FaceGenderError as exc:
        _fail(exc)
    click.echo(json.dumps(summary, indent=2))


@data.command("import-imdb-wiki")
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
@click.option("--min-score", type=float, default=1.0, show_default=True,
              help="Lowest face_score kept (the data set's own face detector score).")
@click.option("--allow-second-face", is_flag=True,
              help="Keep photos in which a second face was found too.")
@click.option("--copy", is_flag=True, help="Copy the images instead of hard-linking them.")
def data_import_imdb_wiki(src: Path, dst: Path, min_score: float, allow_second_face: bool,
                          copy: bool) -> None:
    """Turn an unpacked wiki_crop/ (or imdb_crop/) into a labeled folder DST/{female,male}."""
    from .training import import_imdbwiki

    try:
        summary = import_imdbwiki(src, dst, min_score=min_score,
                                  allow_second_face=allow_second_face, copy=copy)
    except FaceGenderError as exc:
        _fail(exc)
    click.echo(json.dumps(summary, indent=2))


SQUARE_HELP = ("Course-style square crops (Haar, 10% margin) instead of landmark-aligned "
               "chips (3 points less accurate on validation).")


@main.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Local processes (default: one per core).")
@click.option("--dask", "dask_spec", default=None, metavar="SPEC",
              help="Run on Dask: local:N, a scheduler address (tcp://host:8786) or file.")
@click.option("--square", is_flag=True, help=SQUARE_HELP)
def crop(src: Path, dst: Path, workers: int | None, dask_spec: str | None, square: bool
         ) -> None:
    """Crop the largest face of every photo in SRC/{female,male} to DST/Crop_{Female,Male}.

    By default each crop is the eigen-face model's input: the BlazeFace finder both
    models are served with, then a 100x100 chip aligned by dlib's 5 landmarks.
    """
    from .training import SQUARE_CROPS, crop_folder

    try:
        summary = crop_folder(src, dst, workers=workers, dask=dask_spec,
                              recipe=SQUARE_CROPS if square else None)
    except FaceGenderError as exc:
        _fail(exc)
    click.echo(json.dumps(summary, indent=2))
    if summary["failed"]:
        click.echo(f"error: {summary['failed']} photo(s) not done (a worker failed); "
                   "run the same command again to do them", err=True)
        sys.exit(1)


@main.command()
@click.option("--data", "data_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Labeled folder: female/ and male/, or Crop_Female/ and Crop_Male/.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Model folder to write.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--crops", "crops_dir", type=click.Path(path_type=Path), default=None,
              help="Where to keep crops of raw photos (default: a cache folder).")
@click.option("--workers", type=click.IntRange(1, 256), default=None)
@click.option("--quick", is_flag=True, help="Tiny grid, for a smoke test.")
@click.option("--external", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Labeled folder from another source to measure on (repeatable; never tuned on).")
@click.option("--features", type=click.Choice(["eigenface", "embedding"]), default="eigenface",
              show_default=True, help="Eigen faces of pixels, or dlib face embeddings.")
@click.option("--extra", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="More labeled photos to train on; a seeded test part of each stays aside.")
@click.option("--per-class", type=click.IntRange(5, None), default=None,
              help="embedding: a seeded sample of at most N photos per class of each folder.")
@click.option("--square-crops", is_flag=True, help="eigenface: " + SQUARE_HELP)
@click.option("--float-network", is_flag=True,
              help="embedding: run the face network in float, not 8-bit integers "
                   "(~2.5x slower; models before 2026-12-04).")
def train(data_dir: Path, out_dir: Path, seed: int, crops_dir: Path | None,
          workers: int | None, quick: bool, external: tuple[Path, ...], features: str,
          extra: tuple[Path, ...], per_class: int | None, square_crops: bool,
          float_network: bool) -> None:
    """Crop, tune, calibrate, evaluate and save a model, with its report."""
    try:
        if features == "embedding":
            from .training import QUICK_GRIDS, train_embedding

            model = train_embedding(data_dir, out_dir, seed=seed, workers=min(workers or 2, 2),
                                    grid=QUICK_GRIDS["embedding"] if quick else None,
                                    extra=list(extra),
                                    per_class=per_class, external=list(external),
                                    int8=not float_network)
        else:
            from .training import QUICK_GRIDS, SQUARE_CROPS
            from .training import train as run_train

            model = run_train(data_dir, out_dir, seed=seed, crops_dir=crops_dir,
                              workers=workers, grid=QUICK_GRIDS["eigenface"] if quick else None,
                              external=list(external), extra=list(extra),
                              recipe=SQUARE_CROPS if square_crops else None)
    except FaceGenderError as exc:
        _fail(exc)
    test = model.manifest["metrics"]["test"]
    click.echo(f"saved {out_dir}: balanced accuracy on test {test['balanced_accuracy']:.3f} "
               f"[{test['balanced_accuracy_ci95'][0]:.3f}, {test['balanced_accuracy_ci95'][1]:.3f}]"
               f", report in {out_dir / 'report' / 'report.md'}")


@main.command()
@click.argument("model_path")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write metrics JSON and plots to this folder.")
def evaluate(model_path: str, folder: Path, out: Path | None) -> None:
    """Measure MODEL_PATH (a model folder or a shipped name) on a labeled FOLDER.

    A photo with no face found counts as wrong.
    """
    from .training import evaluate_folder, metrics_table, write_eval_plots

    model = _load(model_path)
    try:
        metrics = evaluate_folder(model, folder, progress=True)
    except FaceGenderError as exc:
        _fail(exc)
    click.echo(metrics_table(metrics))
    if out:
        write_eval_plots(metrics, out)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")


DRAW_HELP = ("Also write each photo with its boxes and labels drawn as the web result page "
             "draws them. One photo: the image file to write (.jpg, .jpeg, .png or .webp). "
             "Several photos, or an existing folder: the folder (made if missing) to write "
             "each photo into as <stem>.annotated.jpg. Input photos are never overwritten.")


@main.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model_path", default=None,
              help=MODEL_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--min-face-size", type=click.IntRange(8, 10000), default=None)
@click.option("--draw", type=click.Path(path_type=Path), default=None, metavar="OUT",
              help=DRAW_HELP)
def analyze(images: tuple[Path, ...], model_path: str | None, as_json: bool,
            min_face_size: int | None, draw: Path | None) -> None:
    """Detect and classify every face in each IMAGE."""
    from .analyze import analyze_image
    from .draw import draw_faces
    from .draw_files import draw_targets, write_image
    from .images import read_image

    targets: list[Path | None] = [None] * len(images)
    if draw is not None:
        try:
            targets = list(draw_targets(images, draw))
        except FaceGenderError as exc:
            _fail(exc)
    model = _load(model_path)
    results = []
    for path, target in zip(images, targets, strict=True):
        try:
            image = read_image(path)
            analysis = analyze_image(image, model, min_face_size=min_face_size)
        except FaceGenderError as exc:
            _fail(exc)
        results.append({"path": str(path), **analysis.to_dict()})
        if not as_json:
            click.echo(f"{path}: {len(analysis.faces)} face(s)")
            for i, face in enumerate(analysis.faces, 1):  # numbered as the drawn labels
                b = face.box
                flag = "  (uncertain)" if face.prediction.uncertain else ""
                click.echo(f"  #{i} box=({b.x},{b.y},{b.w},{b.h}) {face.gender} "
                           f"{face.confidence:.0%}{flag}")
        if target is not None:
            try:
                write_image(target, draw_faces(image, analysis.faces))
            except FaceGenderError as exc:
                _fail(exc)
            click.echo(f"wrote {target}", err=True)
    if as_json:
        click.echo(json.dumps(results if len(results) > 1 else results[0], indent=2))


@main.command()
@click.argument("video_in", metavar="IN", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Annotated H.264 MP4 to write (plays in browsers).")
@click.option("--jsonl", "jsonl_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write one JSON line per analysed frame.")
@click.option("--every", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="Analyse one frame in N; the others keep the latest boxes.")
@click.option("--max-frames", type=click.IntRange(1, None), default=None,
              help="Stop after reading M frames.")
@click.option("--model", "model_path", default=None,
              help=MODEL_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def video(video_in: Path, out: Path, jsonl_path: Path | None, every: int,
          max_frames: int | None, model_path: str | None, as_json: bool) -> None:
    """Box and label every face of video IN into --out, and list the people (tracks) found."""
    from .video import annotate_video

    model = _load(model_path)
    try:
        summary = annotate_video(video_in, out, model, every=every, max_frames=max_frames,
                                 jsonl_path=jsonl_path, progress=True)
    except FaceGenderError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
        return
    click.echo(f"{video_in}: {summary.frames_read} frames read ({summary.duration_s:.1f} s at "
               f"{summary.info.fps:.2f} fps), {summary.frames_analyzed} analysed, "
               f"{summary.processing_fps:.1f} frames/s; wrote {out}")
    click.echo(f"{len(summary.tracks)} track(s)"
               + (f", {summary.brief_tracks} brief one(s) left out" if summary.brief_tracks
                  else ""))
    wide = max((len(str(t.track_id)) for t in summary.tracks), default=1)  # aligned columns
    for t in summary.tracks:
        flag = "  (uncertain)" if t.prediction.uncertain else ""
        click.echo(f"  #{t.track_id:<{wide}} {t.first_time:6.2f}-{t.last_time:6.2f} s "
                   f"{t.frames_seen:4d} frames  {t.gender} {t.confidence:.0%}{flag}")


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="results.csv, results.jsonl, or results.parquet (a folder of part files).")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "parquet"]), default=None,
              help="Output format, when --out's suffix does not say it.")
@click.option("--model", "model_path", default=None,
              help=MODEL_HELP)
@click.option("--whole-image", is_flag=True, help="Treat each image as one cropped face.")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Local worker processes (1: this process).")
@click.option("--dask", "dask_spec", default=None, metavar="SPEC",
              help="Run on Dask: local:N, a scheduler address (tcp://host:8786) or file.")
@click.option("--chunk-size", type=click.IntRange(1, 10000), default=16, show_default=True,
              help="Images per task; each finished chunk is written at once.")
@click.option("--resume", is_flag=True, help="Go on with an existing --out: skip files in it.")
@click.option("--overwrite", is_flag=True, help="Start an existing --out over.")
def batch(folder: Path, out: Path, fmt: str | None, model_path: str | None, whole_image: bool,
          workers: int, dask_spec: str | None, chunk_size: int, resume: bool,
          overwrite: bool) -> None:
    """Classify every face in every image under FOLDER: one row per face, file or error."""
    from .batch import run_batch

    try:
        s = run_batch(folder, out, model_path, fmt=fmt, whole_image=whole_image, resume=resume,
                      overwrite=overwrite, workers=workers, dask=dask_spec,
                      chunk_size=chunk_size, progress=True)
    except FaceGenderError as exc:
        _fail(exc)
    skipped = f"; {s.skipped} already in {out}, skipped" if s.skipped else ""
    click.echo(f"{s.processed} image(s) in {s.seconds:.1f} s ({s.images_per_s:.1f}/s on "
               f"{s.executor}): {s.faces} face(s), {s.no_face} without a face, {s.errors} "
               f"error(s); {s.rows} row(s) added to {out}{skipped}")
    if s.failed:
        click.echo(f"error: {s.failed} image(s) not done: {s.first_failure}; run again with "
                   "--resume to do them", err=True)
        sys.exit(1)
