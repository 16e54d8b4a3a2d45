"""The pages in a real browser: Debian's Chromium driven by Playwright, a real gunicorn.

gunicorn runs ``make run``'s configuration on a free loopback port with the tiny
test model; screenshots land in ``test-artifacts/browser/``. ``make test``
installs Chromium when it is missing; outside CI a machine without it skips.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import free_port, gunicorn

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real gunicorn with the shipped config on a free port; its base URL."""
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1",
           "FACEGENDER_MODEL_PATH": str(tiny_model_dir)}
    with gunicorn(env, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def playwright() -> Iterator:
    """One Playwright per module: its sync API allows only one at a time."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
        pytest.skip("no Chromium on this machine; `make browser` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright) -> Iterator:  # type: ignore[no-untyped-def]
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


def _page(browser, *, javascript: bool):  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=javascript,
                                  viewport={"width": 1200, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return context, page, problems


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_upload_shows_boxes_and_a_row_per_face(
    server: str, browser, shared_data: Path, javascript: bool,
) -> None:
    photo = shared_data / "detection" / "portraits" / "obama_and_biden.jpg"
    context, page, problems = _page(browser, javascript=javascript)
    try:
        page.goto(server + "/")
        assert page.locator("label[for=photos]").inner_text().strip() == "Photos"
        page.set_input_files("#photos", str(photo))
        if javascript:  # the enhanced form shows a preview before sending
            page.wait_for_selector("#previews figure")
        page.click("#submit-btn")
        page.wait_for_selector("section.result", timeout=60_000)
        rows = page.locator("tr.face-row")
        badge = page.locator(".face-count")
        assert rows.count() >= 2
        assert int(badge.get_attribute("data-faces") or -1) == rows.count()
        for gender in page.locator("tr.face-row").evaluate_all(
                "rows => rows.map(r => r.dataset.gender)"):
            assert gender in ("female", "male")
        annotated = page.locator("img.annotated")
        assert annotated.evaluate("img => img.complete && img.naturalWidth") == 1280
        assert "face 1" in (annotated.get_attribute("alt") or "")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"result-{'js' if javascript else 'nojs'}.png"),
                        full_page=True)
        assert problems == [], problems  # no CSP violations, no script errors
    finally:
        context.close()


def test_several_photos_and_a_faceless_one(server: str, browser, shared_data: Path) -> None:
    files = [shared_data / "detection" / "portraits" / "obama.jpg",
             shared_data / "detection" / "no_face" / "coins.png"]
    context, page, problems = _page(browser, javascript=True)
    try:
        page.goto(server + "/")
        page.set_input_files("#photos", [str(f) for f in files])
        page.click("#submit-btn")
        page.wait_for_selector("section.result", timeout=60_000)
        assert page.locator("section.result").count() == 2
        assert page.locator(".no-face").count() == 1
        assert "No face found" in page.locator(".no-face").inner_text()
        assert page.locator("tr.face-row").count() >= 1
        assert problems == [], problems
    finally:
        context.close()


def test_model_page_and_keyboard(server: str, browser) -> None:
    context, page, problems = _page(browser, javascript=True)
    try:
        page.goto(server + "/model")
        assert page.locator("img").count() >= 2  # mean face and eigen faces
        assert all(page.locator("img").evaluate_all("imgs => imgs.map(i => !!i.alt)"))
        page.goto(server + "/")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.tagName")
        assert focused in ("A", "INPUT", "BUTTON")
        assert problems == [], problems
    finally:
        context.close()


def test_video_upload_progress_then_player_and_tracks(server: str, browser, short_clip: Path,
                                                     ) -> None:
    context, page, problems = _page(browser, javascript=True)
    try:
        page.goto(server + "/video")
        page.set_input_files("#video", str(short_clip))
        page.select_option("#every", "5")
        page.click("#video-submit")
        page.wait_for_url("**/videos/*", timeout=60_000)
        page.wait_for_selector("video#annotated-video", timeout=120_000)  # polled, then reloaded
        duration = page.wait_for_function(
            "() => { const v = document.querySelector('video#annotated-video');"
            " return v.readyState >= 1 && v.duration > 0 ? v.duration : null; }",
            timeout=30_000).json_value()
        assert 1.9 < duration < 2.2  # 60 frames at 29.97 fps: the browser decodes our H.264
        assert 1 <= page.locator("tr.track").count() <= 4
        for cell in page.locator("tr.track td:nth-child(2)").all_inner_texts():
            assert cell.split()[0] in ("female", "male")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "video-result.png"), full_page=True)
        page.click("text=Delete now")
        page.wait_for_url(server + "/video")
        assert problems == [], problems
    finally:
        context.close()


@pytest.fixture(scope="module")
def fake_camera_clip(short_clip: Path, tmp_path_factory: pytest.TempPathFactory,
                     run_ffmpeg) -> Path:  # type: ignore[no-untyped-def]
    """The test clip as raw Y4M: what Chromium's fake camera plays, in a loop."""
    out = tmp_path_factory.mktemp("camera") / "clip.y4m"
    run_ffmpeg("-i", str(short_clip), "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", str(out))
    return out


def test_webcam_with_a_fake_camera_draws_boxes(server: str, playwright,
                                               fake_camera_clip: Path) -> None:
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={fake_camera_clip}"]
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    try:
        context = b.new_context(permissions=["camera"], viewport={"width": 1000, "height": 900})
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(server + "/webcam")
        page.click("#webcam-start")
        # One look at the page, in the page: the count, the labels and the painted overlay
        # belong to the same answer (the next frame may have no face).
        seen = page.wait_for_function(
            """() => {
              const n = Number(document.getElementById('face-count').textContent);
              const c = document.getElementById('webcam-overlay');
              if (n < 1 || !c.width) return null;
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let painted = 0;
              for (let i = 3; i < d.length; i += 4) painted += d[i] > 0;
              return {n, painted, labels: document.getElementById('webcam-labels').textContent};
            }""", timeout=60_000).json_value()
        assert re.search(r"face 1: (uncertain )?(female|male) \d+%", seen["labels"]), seen
        assert seen["painted"] > 100  # a box and its label drawn over the picture
        assert "alert-success" in (page.locator("#webcam-message").get_attribute("class")
                                   or "")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "webcam.png"))
        page.click("#webcam-stop")
        assert problems == [], problems
    finally:
        b.close()


def test_webcam_without_a_camera_says_so(server: str, browser) -> None:
    context, page, problems = _page(browser, javascript=True)
    try:
        page.goto(server + "/webcam")
        page.click("#webcam-start")
        page.wait_for_selector("#webcam-message.alert-warning", timeout=20_000)
        text = page.locator("#webcam-message").inner_text()
        assert "No camera was found" in text or "permission was denied" in text, text
        assert page.locator("#webcam-start").is_enabled()
        assert problems == [], problems
    finally:
        context.close()
