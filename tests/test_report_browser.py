"""``report.html`` in a real browser: headless Chromium (Debian's ``chromium``, which install.sh
installs) driven by Playwright opens the report from disk, as a user would."""

import shutil

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from PIL import Image

from proxyseg.cli import cli

sync_api = pytest.importorskip("playwright.sync_api")
BROWSER = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium here (install.sh installs Debian's chromium)")

FIGURES = ["tracks", "relevance", "prototypes", "maps"]
# Resolves once per player with the duration the browser decoded, or "error".
AUDIO_DURATIONS = """Promise.all(Array.from(document.querySelectorAll("audio"), audio => new Promise(resolve => {
    if (audio.readyState >= 1) { resolve(audio.duration); return; }
    audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
    audio.addEventListener("error", () => resolve("error"));
})))"""


def _stopped_after_metadata(request) -> bool:
    """Chromium aborts an audio file's request once it has read what ``preload="metadata"`` needs."""
    return request.resource_type == "media" and request.failure == "net::ERR_ABORTED"


def test_the_report_opens_offline_without_errors_shows_its_figures_and_plays_its_audio(tiny_corpus, tmp_path):
    uri = tiny_corpus.uris("test")[0]
    audio, outdir = tiny_corpus.audio_path(uri), tmp_path / "explanation"
    result = CliRunner().invoke(cli, ["explain", str(audio), "-o", str(outdir),
                                      "--random-draws", "1"])
    assert result.exit_code == 0, result.output
    problems = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("requestfailed", lambda request: None if _stopped_after_metadata(request) else
                    problems.append(f"{request.url}: {request.failure}"))
            page.goto((outdir / "report.html").as_uri(), wait_until="load")

            assert page.title() == f"proxyseg explanation of {uri}"
            assert uri in page.locator("h1").inner_text()
            images = page.evaluate("Array.from(document.images, image => [image.alt, image.naturalWidth])")
            assert [alt for alt, _ in images] == FIGURES
            assert all(width > 500 for _, width in images), images
            players = page.locator("audio")
            explained = [name for name in ("speech", "music", "noise", "overlap") if (outdir / f"{name}.wav").exists()]
            assert players.count() == 1 + len(explained) >= 2
            durations = page.evaluate(AUDIO_DURATIONS)
            assert durations == pytest.approx([sf.info(audio).duration] * players.count(), abs=0.05)
            assert page.locator("li.faithfulness").count() == 4
            for name in explained:
                assert "Removing the" in page.locator(f'li.faithfulness[data-class="{name}"]').inner_text()

            screenshot = outdir / "report.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert problems == []
    with Image.open(screenshot) as image:
        assert image.width == 1100 and image.height > 2000  # the whole page, figures included
        assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 1000  # not blank
