"""The reports in a real browser: headless Chromium (Debian's ``chromium``, which install.sh
installs) driven by Playwright opens them from disk, as a user would."""

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
IMAGES = "Array.from(document.images, image => [image.alt, image.naturalWidth])"


def _stopped_after_metadata(request) -> bool:
    """Chromium aborts an audio file's request once it has read what ``preload="metadata"`` needs."""
    return request.resource_type == "media" and request.failure == "net::ERR_ABORTED"


def test_the_reports_open_offline_without_errors_show_their_figures_and_play_their_audio(tiny_corpus, tmp_path):
    folder, outdir = tmp_path / "in", tmp_path / "explanations"
    folder.mkdir()
    uris = sorted(tiny_corpus.uris("test")[:1] + tiny_corpus.uris("train")[:1])
    for uri in uris:
        shutil.copy(tiny_corpus.audio_path(uri), folder)
    result = CliRunner().invoke(cli, ["explain", str(folder), "-o", str(outdir), "--random-draws", "1"])
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

            # The set's report: a row and a sentence per class, the prototypes, a link per file.
            page.goto((outdir / "report.html").as_uri(), wait_until="load")
            assert page.title() == "proxyseg explanations of 2 files"
            assert page.locator("#classes tr").count() == 1 + 4 and page.locator("li.faithfulness").count() == 4
            assert [alt for alt, width in page.evaluate(IMAGES) if width > 500] == ["prototypes"]
            assert page.locator("#files a").all_inner_texts() == uris

            # Follow the first link to that file's report.
            page.locator("#files a").first.click()
            page.wait_for_load_state("load")
            uri, file_outdir = uris[0], outdir / uris[0]
            assert page.url == (file_outdir / "report.html").as_uri()
            assert page.title() == f"proxyseg explanation of {uri}"
            images = page.evaluate(IMAGES)
            assert [alt for alt, _ in images] == FIGURES and all(width > 500 for _, width in images), images
            explained = [name for name in ("speech", "music", "noise", "overlap")
                         if (file_outdir / f"{name}.wav").exists()]
            players = page.locator("audio")
            assert players.count() == 1 + len(explained) >= 2
            duration = sf.info(tiny_corpus.audio_path(uri)).duration
            assert page.evaluate(AUDIO_DURATIONS) == pytest.approx([duration] * players.count(), abs=0.05)
            assert page.locator("li.faithfulness").count() == 4
            for name in explained:
                assert "Removing the" in page.locator(f'li.faithfulness[data-class="{name}"]').inner_text()

            screenshot = file_outdir / "report.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert problems == []
    with Image.open(screenshot) as image:
        assert image.width == 1100 and image.height > 2000  # the whole page, figures included
        assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 1000  # not blank
