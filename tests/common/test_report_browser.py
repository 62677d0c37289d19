"""The report in a real browser: headless Chromium loads it with every image decoded.

The page counts its own images on ``load`` (``data-images``, ``data-broken-images`` on
``<body>``); ``--dump-dom`` shows the counts. A copy with one image pointing at a missing
file proves the count can say "broken". Skipped without Chromium, except under ``CI=true``.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.common import report_fixtures as fx
from transferkit.common.output.report import write_report

SCREENSHOT = Path("/tmp/transferkit-report-screenshot.png")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is required under CI=true (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def _run_chromium(page: Path, profile: Path, *args: str) -> str:
    # A fresh profile per call: a shared one is locked by a still-exiting browser.
    profile.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                           f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _image_counts(page: Path, profile: Path) -> tuple[int, int]:
    dom = _run_chromium(page, profile, "--dump-dom")
    body = re.search(r"<body[^>]*>", dom)
    assert body, dom[:2000]
    images = re.search(r'data-images="(\d+)"', body.group(0))
    broken = re.search(r'data-broken-images="(\d+)"', body.group(0))
    assert images and broken, f"the load handler did not run: {body.group(0)}"
    return int(images.group(1)), int(broken.group(1))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    return write_report(fx.multiclass_run(tmp_path_factory.mktemp("runs"), "vision", "flowers"))


def test_report_loads_in_chromium_with_no_broken_image(page, tmp_path):
    images, broken = _image_counts(page, tmp_path / "profile-dom")
    assert (images, broken) == (5, 0)
    shot = tmp_path / "report.png"
    _run_chromium(page, tmp_path / "profile-shot", f"--screenshot={shot}",
                  "--window-size=1280,4000", "--hide-scrollbars")
    with Image.open(shot) as image:
        assert image.size == (1280, 4000)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
    assert colours is not None and len(colours) > 1, "the screenshot is blank"
    shutil.copyfile(shot, SCREENSHOT)  # for a person to look at


def test_the_broken_image_check_can_fail(page, tmp_path):
    html = page.read_text()
    copy = page.with_name("report-broken.html")
    copy.write_text(re.sub(r'src="data:image/png;base64,[^"]+"', 'src="no-such-file.png"',
                           html, count=1))
    images, broken = _image_counts(copy, tmp_path / "profile")
    assert (images, broken) == (5, 1)
