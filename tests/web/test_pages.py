"""HTML pages through the test client: upload form, results, errors, CSRF, model page."""

from __future__ import annotations

import io
import re


def _csrf(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_index_states_limits_and_has_accessible_form(client) -> None:
    html = client.get("/").get_data(as_text=True)
    assert '<label for="photos"' in html and 'multiple' in html
    assert "10 MB" in html and "40 megapixels" in html and "never stored" in html
    assert "cdn" not in html.lower()


def test_upload_two_photos_shows_results(client, two_faces_jpeg, coins_png) -> None:
    token = _csrf(client)
    r = client.post("/analyze", data={
        "csrf_token": token, "min_face_size": "120",
        "photos": [(io.BytesIO(two_faces_jpeg), "two.jpg"), (io.BytesIO(coins_png), "coins.png")],
    })
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.count('class="face-row"') >= 2
    assert "No face found" in html  # coins with min_face_size 120
    assert html.count('src="data:image/png;base64,') >= 4  # crops and reconstructions
    assert 'alt="two.jpg with' in html
    assert "Model input" in html  # an eigen-face model: the crop is what it read


def test_upload_without_csrf_refused(client, two_faces_jpeg) -> None:
    r = client.post("/analyze", data={"photos": [(io.BytesIO(two_faces_jpeg), "two.jpg")]})
    assert r.status_code == 400 and "security token" in r.get_data(as_text=True)


def test_upload_not_an_image_friendly_415(client) -> None:
    token = _csrf(client)
    r = client.post("/analyze", data={"csrf_token": token,
                                      "photos": [(io.BytesIO(b"%PDF-1.4 hi"), "doc.jpg")]})
    assert r.status_code == 415
    html = r.get_data(as_text=True)
    assert "not an image we can read" in html and "Traceback" not in html


def test_bad_file_among_good_shows_inline_error(client, two_faces_jpeg) -> None:
    token = _csrf(client)
    r = client.post("/analyze", data={"csrf_token": token, "photos": [
        (io.BytesIO(two_faces_jpeg), "two.jpg"), (io.BytesIO(b"junk"), "junk.png")]})
    assert r.status_code == 200
    assert "could not be analyzed" in r.get_data(as_text=True)


def test_404_page(client) -> None:
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "Page not found" in r.get_data(as_text=True)


def test_model_page(client, tiny_model) -> None:
    html = client.get("/model").get_data(as_text=True)
    shown = min(12, tiny_model.pca.n_components_)  # the first 12, or all a tiny model has
    assert "The mean face" in html and html.count('alt="Eigen face') == shown
    assert tiny_model.manifest["sha256"] in html
    assert "Balanced accuracy" in html and "responsible" in html.lower()


def test_static_assets_local(client) -> None:
    for url in ("/static/vendor/bootstrap.min.css", "/static/vendor/bootstrap.bundle.min.js",
                "/favicon.ico"):
        with client.get(url) as r:  # file responses hold the file open until closed
            assert r.status_code == 200 and len(r.data) > 100


def _page_post(app, photo: bytes, name: str = "p.png"):  # type: ignore[no-untyped-def]
    c = app.test_client()
    return c.post("/analyze", data={"csrf_token": _csrf(c), "photos": [(io.BytesIO(photo), name)]})


def test_too_large_upload_friendly_413(tiny_model, two_faces_jpeg) -> None:
    from facegender.web import create_app

    app = create_app({"MODEL": tiny_model, "RATELIMIT_ENABLED": False,
                      "MAX_CONTENT_LENGTH": 200_000})
    r = _page_post(app, two_faces_jpeg, "two.jpg")
    html = r.get_data(as_text=True)
    assert r.status_code == 413 and "too large" in html and "Traceback" not in html


def test_too_many_pixels_friendly_422(tiny_model, astronaut_png) -> None:
    from facegender.web import create_app

    app = create_app({"MODEL": tiny_model, "RATELIMIT_ENABLED": False, "MAX_PIXELS": 100_000})
    r = _page_post(app, astronaut_png)  # 512 x 512 = 262,144 pixels
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "cannot process that image" in html


def test_unexpected_error_friendly_500_without_traceback(app, astronaut_png) -> None:
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    app.extensions["facegender"].page_result = broken
    r = _page_post(app, astronaut_png)
    html = r.get_data(as_text=True)
    assert r.status_code == 500 and "Something went wrong" in html
    assert "secret internal detail" not in html and "Traceback" not in html
    assert re.search(r"[0-9a-f]{8}", html)  # the request id to quote in a report


def test_model_choice_on_the_upload_form(tiny_model, two_faces_jpeg) -> None:
    from facegender.web import create_app

    app = create_app({"MODEL": tiny_model, "RATELIMIT_ENABLED": False,
                      "EXTRA_MODELS": "embedding"})
    c = app.test_client()
    html = c.get("/").get_data(as_text=True)
    assert '<select class="form-select w-auto" id="model" name="model"' in html
    assert '<label for="model"' in html and 'value="embedding"' in html
    r = c.post("/analyze", data={"csrf_token": _csrf(c), "model": "embedding",
                                 "photos": [(io.BytesIO(two_faces_jpeg), "two.jpg")]})
    page = r.get_data(as_text=True)
    # Obama, Biden and a girl half in shadow behind them
    assert r.status_code == 200 and page.count('class="face-row"') == 3
    assert "embedding" in page  # the footer names the model that answered
    assert c.get("/model?model=embedding").status_code == 200


def test_embedding_default_shows_eigenface_reconstructions(tiny_model_dir, two_faces_jpeg) -> None:
    from facegender.persist import load_model
    from facegender.web import create_app

    app = create_app({"MODEL": load_model("embedding"), "RATELIMIT_ENABLED": False,
                      "EXTRA_MODELS": str(tiny_model_dir)})
    c = app.test_client()
    r = c.post("/analyze", data={"csrf_token": _csrf(c),
                                 "photos": [(io.BytesIO(two_faces_jpeg), "two.jpg")]})
    page = r.get_data(as_text=True)
    # Obama, Biden and a girl half in shadow behind them
    assert r.status_code == 200 and page.count('class="face-row"') == 3
    # the embedding model answers; the eigen-face model draws what its PCA keeps of each face
    assert page.count("its reconstruction from the eigen faces") == 3
    # the crop shown is the eigen-face model's, not what this model read: said so
    assert "Model input" not in page and "Face, as the eigen-face model reads it" in page
    assert page.count("the 100×100 grayscale crop the eigen-face model reads") == 3
    alone = create_app({"MODEL": load_model("embedding"), "RATELIMIT_ENABLED": False,
                        "EXTRA_MODELS": ""}).test_client()
    page = alone.post("/analyze", data={"csrf_token": _csrf(alone), "photos": [
        (io.BytesIO(two_faces_jpeg), "two.jpg")]}).get_data(as_text=True)
    assert page.count('class="face-row"') == 3 and "its reconstruction" not in page


def test_model_page_describes_the_model_shown(tiny_model_dir) -> None:
    from facegender.persist import load_model
    from facegender.web import create_app

    app = create_app({"MODEL": load_model("embedding"), "RATELIMIT_ENABLED": False,
                      "EXTRA_MODELS": str(tiny_model_dir)})
    c = app.test_client()
    emb = c.get("/model").get_data(as_text=True)
    assert "the <code>embedding</code> model" in emb and "256 numbers" in emb
    assert "0-2: never sure" in emb and re.search(r"20-59: \d\d%", emb)  # a bar per age group
    assert "we are 95% sure the group's sure answers are at least 95% right" in emb
    assert re.search(r"Faces under 80 pixels wide [^.]{20,120} small faces: \d\d%", emb)
    # each source it was trained on, with its counts (the manifest has them per source)
    assert re.search(r"imdbwiki: \d+ photos, \d+ faces; utkface: \d+ photos, \d+ faces", emb)
    assert "The mean face of the training crops" not in emb
    other = re.search(r'href="(/model\?model=[^"]+)"', emb).group(1)
    eig = c.get(other.replace("&amp;", "&")).get_data(as_text=True)
    assert "Eigen faces</strong>" in eig and "The mean face of the training crops" in eig
    assert "100×100 chip, eyes level" in eig and "cut as a square" not in eig  # aligned
    assert "local binary patterns" in eig and "local binary patterns" not in emb  # its 3rd branch
    assert re.search(r": \d+ photos, \d+ faces", eig)  # the tiny model's one source
    shipped = create_app({"MODEL": load_model("eigenface"), "RATELIMIT_ENABLED": False})
    eig = shipped.test_client().get("/model").get_data(as_text=True)
    assert re.search(r"imdbwiki: \d+ photos, \d+ faces", eig) and "also utkface" in eig
    # the shipped eigen-face model has a bar per guessed age group too (since 2026-12-05)
    assert "from the same eigen faces, edges and textures" in eig and "0-2: never sure" in eig
    for page in (emb, eig):  # served with the finder, trained on its faces
        assert "BlazeFace" in page and "face check" in page and "HOG face detector" not in page
        assert "CenterFace" in page


def test_result_page_says_why_a_face_is_uncertain(shared_data) -> None:
    """With the shipped default model a baby's confident answer is marked uncertain, and the
    badge says the model is never sure of such a face (not the adults' threshold)."""
    from facegender.persist import load_model
    from facegender.web import create_app

    client = create_app({"MODEL": load_model(), "RATELIMIT_ENABLED": False,
                         "SECRET_KEY": "test-secret"}).test_client()
    baby = (shared_data / "utkface/male/1_0_0_20161219154956869.jpg.chip.jpg").read_bytes()
    r = client.post("/analyze", data={"csrf_token": _csrf(client),
                                      "photos": [(io.BytesIO(baby), "baby.jpg")]})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and '">uncertain</span>' in html
    assert "never sure of a face like this one" in html
    # its confidence bar is drawn as low against the bar it needed (not the adults' 75%)
    assert re.search(r'<meter [^>]*low="1"', html) and 'low="0.75"' not in html
