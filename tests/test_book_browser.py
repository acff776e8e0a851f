"""The built book in a real browser: headless Chromium, driven through the DevTools protocol.

Every page of the table of contents is opened from a loopback HTTP server (and the front page
also as the file:// path that `make book` prints). On each page the checks are the ones a
reader would make: math is typeset by the MathJax shipped with the book, every image loaded,
Chinese text is there and drawn with a Chinese font, and the page asked nothing of the internet.

`make test` builds the book first and points HANDBOOK_BOOK_DIR at it. Without Chromium the
tests skip with the reason, except under CI, where `.ci/run` installs it and a skip would hide
a missing check.
"""

from __future__ import annotations

import base64
import functools
import http.server
import os
import re
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tools.devtools import CHROMIUM, DevTools

ROOT = Path(__file__).resolve().parents[1]
BOOK = Path(os.environ.get("HANDBOOK_BOOK_DIR", ROOT / "_build" / "html"))
SCREENSHOTS = BOOK.parent / "browser"
IN_CI = os.environ.get("CI", "").lower() == "true"
CJK = re.compile(r"[\u4e00-\u9fff]")
CJK_FONT = re.compile(r"CJK|Source Han|WenQuanYi|Droid Sans Fallback|AR PL|YaHei|PingFang|SimHei|SimSun")
LOCAL_SCHEMES = {"data", "blob", "about", "file"}
# Interface texts that are names, the same in every language.
INTERFACE_NAMES = {"Binder", "Colab", ".ipynb", ".pdf", ".md", "Ctrl", "K", "PyTorch 中文手册：可执行版"}

def toc_pages() -> list[str]:
    """Every page in _toc.yml, as paths relative to the book root without extension."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            pages.append(chapter["file"])
            pages.extend(section["file"] for section in chapter.get("sections", []))
    return pages


def require_or_skip(condition: bool, reason: str) -> None:
    """Skip with `reason` when `condition` fails; under CI fail instead, since CI must run this."""
    if not condition:
        (pytest.fail if IN_CI else pytest.skip)(reason)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require_or_skip(CHROMIUM is not None,
                    "Chromium not found: install it (Debian/Ubuntu: apt-get install chromium) "
                    "to run the browser check of the built book")
    require_or_skip((BOOK / "index.html").is_file(),
                    f"no built book in {BOOK}: run `make book` first (`make test` builds it)")
    devtools = DevTools(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield devtools
    finally:
        devtools.close()


@pytest.fixture(scope="module")
def server():
    """The built book over HTTP on a loopback port, as a reader's web server would serve it."""
    handler = functools.partial(QuietHandler, directory=str(BOOK))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


# Runs in the page once it has loaded: waits for MathJax and images, then reports.
PAGE_REPORT_JS = """
(async () => {
  if (document.querySelector('meta[http-equiv="refresh"]')) return {redirect: true};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await Promise.all(Array.from(document.images, img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
  await document.fonts.ready;
  return {
    title: document.title,
    text: document.body.innerText,
    mathSources: document.querySelectorAll('.math, .amsmath').length,
    mathTypeset: document.querySelectorAll('mjx-container').length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    images: Array.from(document.images, img => ({src: img.getAttribute('src'), width: img.naturalWidth,
                                                 shownWidth: img.getBoundingClientRect().width,
                                                 fromOutput: Boolean(img.closest('.cell_output'))})),
    topBars: Array.from(document.querySelectorAll('header, .bd-header-article'))
        .filter(bar => bar.getBoundingClientRect().height > 0).length,
    interface: [
      ...Array.from(document.querySelectorAll('[title], [aria-label], [placeholder], [data-bs-title]'))
          .filter(el => !el.closest('article .cell_input, article .cell_output'))
          .flatMap(el => ['title', 'aria-label', 'placeholder', 'data-bs-title']
              .map(name => el.getAttribute(name)).filter(Boolean)),
      ...Array.from(document.querySelectorAll('summary, .btn__text-container'), el => el.innerText),
      window.toggleHintShow || '', window.toggleHintHide || '',
    ].map(text => text.trim()).filter(Boolean),
    clippedCode: Array.from(document.querySelectorAll('article pre'))
        .filter(pre => pre.getBoundingClientRect().width > 0 && pre.scrollWidth > pre.clientWidth + 1)
        .map(pre => pre.innerText.split('\\n').find(line => line.length > 0).slice(0, 80)),
    clippedMath: Array.from(document.querySelectorAll('article mjx-container[display="true"]'))
        .filter(math => math.scrollWidth > math.clientWidth + 1)
        .map(math => (math.getAttribute('aria-label') || math.textContent).slice(0, 80)),
  };
})()
"""


def evaluate(browser: DevTools, session: str, expression: str):
    """The value of `expression` in the page, once its promise (if any) has settled."""
    reply = browser.send("Runtime.evaluate", {
        "expression": expression, "awaitPromise": True, "returnByValue": True,
    }, session=session)
    if "exceptionDetails" in reply:
        raise RuntimeError(f"the page's script failed: {reply['exceptionDetails']}")
    return reply["result"].get("value")


def open_page(browser: DevTools, url: str, prepare: str = "") -> tuple[dict, list[str], list[str], bytes]:
    """Loads `url` in a new tab, runs the script `prepare` in it (if given); returns the page
    report, requested URLs, fonts used by the first heading, and a PNG screenshot."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    try:
        for domain in ("Network", "Page", "Runtime", "DOM", "CSS"):
            browser.send(f"{domain}.enable", session=session)
        first_event = len(browser.events)
        browser.send("Page.navigate", {"url": url}, session=session)
        report, since = {"redirect": True}, first_event
        while report.get("redirect"):  # index.html forwards to the preface with <meta http-equiv="refresh">
            since = browser.wait_for_event("Page.loadEventFired", session, since) + 1
            try:
                report = evaluate(browser, session, PAGE_REPORT_JS)
            except RuntimeError as error:  # the redirect happened while the script ran
                if "navigated" not in str(error):
                    raise
        if prepare:
            evaluate(browser, session, prepare)
            report = evaluate(browser, session, PAGE_REPORT_JS)
        requests = [event["params"]["request"]["url"] for event in browser.events[first_event:]
                    if event.get("method") == "Network.requestWillBeSent"
                    and event.get("sessionId") == session]
        root = browser.send("DOM.getDocument", session=session)["root"]["nodeId"]
        heading = browser.send("DOM.querySelector", {"nodeId": root, "selector": "article h1"},
                               session=session)["nodeId"]
        assert heading, f"{url} has no <h1> title in its article"
        fonts = [font["familyName"] for font in browser.send(
            "CSS.getPlatformFontsForNode", {"nodeId": heading}, session=session)["fonts"]]
        screenshot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        return report, requests, fonts, base64.b64decode(screenshot)
    finally:
        browser.send("Target.closeTarget", {"targetId": target})


def external(urls: list[str], server_url: str) -> list[str]:
    """The URLs that would leave this machine."""
    local_host = urlsplit(server_url).netloc
    return [url for url in urls
            if urlsplit(url).scheme not in LOCAL_SCHEMES and urlsplit(url).netloc != local_host]


@pytest.mark.parametrize("page", toc_pages())
def test_page_renders_offline(browser, server, page):
    assert (BOOK / f"{page}.html").is_file(), f"{page} is in _toc.yml but not in the built book: rebuild it"
    report, requests, heading_fonts, screenshot = open_page(browser, f"{server}/{page}.html")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{page.replace('/', '__')}.png").write_bytes(screenshot)

    assert requests, "the browser recorded no request at all: the check itself is broken"
    assert external(requests, server) == [], "the page asked the internet for these"
    assert CJK.search(report["title"]) and len(CJK.findall(report["text"])) > 50, "Chinese text missing"
    assert any(CJK_FONT.search(font) for font in heading_fonts), (
        f"the Chinese heading was drawn with {heading_fonts}, none of which is a Chinese font: "
        "install one (Debian/Ubuntu: apt-get install fonts-noto-cjk)")
    assert report["mathTypeset"] >= report["mathSources"], "some math was left untypeset"
    assert report["mathErrors"] == 0, "MathJax reported a TeX error"
    broken = [image["src"] for image in report["images"] if image["width"] == 0]
    assert broken == [], "these images did not load"
    assert report["topBars"] == 1, "a page has exactly one top bar (the article's)"
    english = [text for text in report["interface"]
               if not CJK.search(text) and text not in INTERFACE_NAMES and not text[:1].isdigit()]
    assert english == [], "interface strings not in Chinese: add them to book/_ext/zh_interface.py"
    assert report["clippedCode"] == [], "code wider than the page (keep lines to 80 characters)"
    assert low_resolution_figures(report) == [], (
        "figures stored at less than twice the width they are shown at, blurred on high-resolution "
        "screens: the notebook must call handbook_lib.utils.plotting.setup_chinese_fonts() "
        "(it makes inline figures retina) before its first plot")
    assert report["clippedMath"] == [], (
        "display equations wider than the page, cut at its right edge: break them into lines "
        "(\\begin{aligned} ... \\\\ ... \\end{aligned})")


# A figure is stored for a high-resolution ("retina") screen when it has at least about twice as
# many pixels across as the CSS pixels it is shown in (matplotlib's retina PNGs have exactly 2x).
RETINA = 1.9


def low_resolution_figures(report: dict) -> list[str]:
    """The figures that cells produced which have fewer than RETINA pixels per pixel shown."""
    return [f"{image['src']} ({image['width']} px shown at {image['shownWidth']:.0f} px)"
            for image in report["images"]
            if image["fromOutput"] and "_images/" in image["src"]
            and image["width"] < RETINA * image["shownWidth"]]


# Puts into a page what the checks above must catch: a display equation far wider than the page,
# and a figure of the book shown at its natural size (one image pixel per screen pixel).
DEFECTS_JS = """
(async (figure) => {
  const article = document.querySelector('article');
  const math = document.createElement('div');
  math.className = 'math notranslate nohighlight';
  math.textContent = '\\\\[' + Array.from({length: 60}, (_, i) => `x_{${i}}`).join(' + ') + '\\\\]';
  const output = document.createElement('div');
  output.className = 'cell_output';
  const image = document.createElement('img');
  image.src = figure;
  image.style.maxWidth = 'none';
  output.appendChild(image);
  article.append(math, output);
  await MathJax.typesetPromise([math]);
  await image.decode();
})
"""


def test_page_checks_catch_a_cut_equation_and_a_low_resolution_figure(browser, server):
    figure = sorted((BOOK / "_images").glob("*.png"))[0].name
    prepare = f"{DEFECTS_JS}('../_images/{figure}')"
    report, *_ = open_page(browser, f"{server}/book/1_1_introduction.html", prepare)
    assert [label[:9] for label in report["clippedMath"]] == ["x0+x1+x2+"]
    assert [text.split(" ")[0] for text in low_resolution_figures(report)] == [f"../_images/{figure}"]


def test_front_page_has_preface_setup_and_math(browser, server):
    report, *_ = open_page(browser, f"{server}/index.html")  # redirects to the preface
    assert "前言" in report["text"]
    assert "环境搭建" in report["text"], "the navigation should list the setup chapter"
    assert report["mathTypeset"] > 0


def test_setup_chapter_shows_its_figure(browser, server):
    report, *_ = open_page(browser, f"{server}/notebooks/1_2_setup.html")
    figures = [image for image in report["images"] if "_images/" in image["src"]]
    assert figures and all(image["width"] > 0 for image in figures)
    assert report["mathTypeset"] > 0


def test_book_opens_from_the_printed_file_path(browser, server):
    # `make book` tells the reader to open file://.../_build/html/index.html.
    report, requests, *_ = open_page(browser, (BOOK / "index.html").resolve().as_uri())
    assert external(requests, server) == []
    assert "前言" in report["text"] and report["mathTypeset"] > 0 and report["mathErrors"] == 0


# The book's own vocabulary, each with a page that teaches it: the search index must hold the
# glossary's terms as words (book/_ext/zh_interface.py gives them to jieba).
SEARCHES = {
    "环境": "1_2_setup",
    "过拟合": "3_2_mnist",
    "混淆矩阵": "3_2_mnist",
    "反向传播": "2_1_2_autograd",
    "卷积核": "2_4_cnn",
    "张量": "2_1_1_tensor",
}


def search(browser: DevTools, server: str, term: str) -> list[str]:
    """The result links that the book's search page lists for ``term``."""
    target = browser.send("Target.createTarget", {"url": f"{server}/search.html?q={term}"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    try:
        # Sphinx appends the hits one by one: read them once the list has stopped growing
        deadline = time.monotonic() + 30
        hits: list[str] = []
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            now = browser.send("Runtime.evaluate", {
                "expression": "Array.from(document.querySelectorAll('#search-results li a'), a => a.href)",
                "returnByValue": True,
            }, session=session)["result"]["value"]
            if now != hits:
                hits, stable_since = now, time.monotonic()
            elif hits and time.monotonic() - stable_since > 2:
                break
        return hits
    finally:
        browser.send("Target.closeTarget", {"targetId": target})


@pytest.mark.parametrize("term", SEARCHES)
def test_search_finds_the_books_terms(browser, server, term):
    hits = search(browser, server, term)
    assert any(SEARCHES[term] in hit for hit in hits), f"search for {term} found {hits}"


def test_built_html_loads_nothing_from_other_hosts():
    # Static companion of the browser checks, for scripts, styles and fonts referenced in files.
    require_or_skip((BOOK / "index.html").is_file(), f"no built book in {BOOK}: run `make book` first")
    tag_reference = re.compile(r"<(?:script|link|img|iframe|source)\b[^>]*?\b(?:src|href)=[\"']((?:https?:)?//[^\"']+)")
    css_reference = re.compile(r"url\(\s*[\"']?((?:https?:)?//[^)\"']+)|@import\s+[\"']((?:https?:)?//[^\"']+)")
    found = []
    for path in BOOK.rglob("*"):
        if path.suffix == ".html":
            found += [(path, url) for url in tag_reference.findall(path.read_text(encoding="utf-8"))]
        elif path.suffix == ".css":
            found += [(path, url) for match in css_reference.findall(path.read_text(encoding="utf-8"))
                      for url in match if url]
    assert found == []
