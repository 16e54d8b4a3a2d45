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


def test_model_page(client) -> None:
    html = client.get("/model").get_data(as_text=True)
    assert "The mean face" in html and html.count('alt="Eigen face') == 12
    assert "Balanced accuracy" in html and "responsible" in html.lower()


def test_static_assets_local(client) -> None:
    for url in ("/static/vendor/bootstrap.min.css", "/static/vendor/bootstrap.bundle.min.js",
                "/favicon.ico"):
        with client.get(url) as r:  # file responses hold the file open until closed
            assert r.status_code == 200 and len(r.data) > 100
