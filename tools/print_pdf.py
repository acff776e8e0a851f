"""Print the single-page book (``jupyter-book build --builder singlehtml``) to one PDF.

Usage: ``python tools/print_pdf.py _build/singlehtml _build/pdf/book.pdf`` (``make pdf`` runs it).

The page is opened in headless Chromium from a loopback server; once MathJax has typeset every
formula and every image has loaded, a contents page is put in front, every chapter starts on a
new page, the folded answers are opened (a printed book shows them), the navigation, sidebars and
search are left out, and Chromium prints with
page numbers and a PDF outline. The PDF is written next to its target and renamed into place, so
an interrupted run never leaves a half-written file.
"""
from __future__ import annotations

import argparse
import base64
import functools
import http.server
import os
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.devtools import CHROMIUM, DevTools  # noqa: E402

# Runs in the page: waits for math, fonts and images, then arranges the page for print and returns
# the chapter titles it found (the caller checks that there are some).
PREPARE_JS = """
(async () => {
  const sleep = ms => new Promise(done => setTimeout(done, ms));
  for (let i = 0; i < 600 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
    await sleep(100);  // MathJax loads after the page's load event
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  await Promise.all(Array.from(document.images, img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
  await document.fonts.ready;
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  // every page of the book: a <section> right after the <span id="document-..."> Sphinx puts
  // before it; a section (1.3.1) is nested in its group's (1.3), one heading level down
  const page = 'span[id^="document-"] + section';
  const chapters = Array.from(document.querySelectorAll(page));
  const contents = document.createElement('nav');
  contents.className = 'pdf-contents';
  contents.innerHTML = '<h1>目录</h1><ol></ol>';
  const titles = [];
  for (const chapter of chapters) {
    const heading = chapter.querySelector(':scope > :is(h1, h2, h3, h4, h5, h6)');
    if (!heading) continue;
    const title = heading.firstChild.textContent.trim();
    titles.push(title);
    let depth = 0;
    for (let up = chapter.parentElement; up; up = up.parentElement) if (up.matches(page)) depth++;
    const item = document.createElement('li');
    item.style.paddingLeft = `${2 * depth}em`;
    // the span's id is unique; the sections' own ids repeat across pages ("id1")
    item.innerHTML = `<a href="#${chapter.previousElementSibling.id}"></a>`;
    item.firstChild.textContent = title;
    contents.querySelector('ol').appendChild(item);
  }
  const article = document.querySelector('article.bd-article') || document.querySelector('article');
  article.insertBefore(contents, article.firstChild);
  document.body.replaceChildren(article);  // the book alone: no sidebars, header or search
  const style = document.createElement('style');
  style.textContent = `
    span[id^="document-"] + section { break-before: page; }
    nav.pdf-contents { break-after: page; }
    nav.pdf-contents ol { list-style: none; padding: 0; line-height: 2; }
    nav.pdf-contents a { text-decoration: none; color: inherit; }
    .prev-next-area, .headerlink, .copybtn { display: none !important; }`;
  document.head.appendChild(style);
  return titles;
})()
"""

FOOTER = ('<div style="font-size: 8px; width: 100%; text-align: center; color: #666;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


class _BookHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the build quietly, and its root document at ``/book.html``.

    Sphinx's single-page builder writes the root document (``book/intro.html``) with links
    relative to the build's top folder, so it is served from there.
    """

    root_document = "book/intro.html"

    def translate_path(self, path: str) -> str:
        if path.split("?")[0] == "/book.html":
            path = "/" + self.root_document
        return super().translate_path(path)

    def log_message(self, format: str, *args) -> None:
        pass


def print_book(site: Path, target: Path, timeout: float = 300.0) -> list[str]:
    """Print the single-page book in ``site`` to ``target``; returns the chapter titles."""
    if CHROMIUM is None:
        raise SystemExit("make pdf needs Chromium: apt-get install chromium (Debian/Ubuntu)")
    page = site / _BookHandler.root_document
    if not page.is_file():
        raise SystemExit(f"{page} not found: build the book with --builder singlehtml first")
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_BookHandler, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/book.html"
    with tempfile.TemporaryDirectory() as profile:
        browser = DevTools(CHROMIUM, Path(profile))
        try:
            titles, pdf = _render(browser, url, timeout)
        finally:
            browser.close()
            httpd.shutdown()
            httpd.server_close()
    if not titles:
        raise SystemExit(f"{page} holds no chapters: build it with --builder singlehtml")
    _write_atomically(target, pdf)
    return titles


def _render(browser: DevTools, url: str, timeout: float) -> tuple[list[str], bytes]:
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    browser.send("Page.enable", session=session)
    since = len(browser.events)
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait_for_event("Page.loadEventFired", session, since, timeout=timeout)
    titles = browser.send("Runtime.evaluate", {
        "expression": PREPARE_JS, "awaitPromise": True, "returnByValue": True,
    }, session=session, timeout=timeout)["result"]["value"]
    pdf = browser.send("Page.printToPDF", {
        "printBackground": True, "preferCSSPageSize": False,
        "paperWidth": 8.27, "paperHeight": 11.69,  # A4, in inches
        "marginTop": 0.6, "marginBottom": 0.7, "marginLeft": 0.6, "marginRight": 0.6,
        "displayHeaderFooter": True, "headerTemplate": "<span></span>", "footerTemplate": FOOTER,
        "generateTaggedPDF": True, "generateDocumentOutline": True,
    }, session=session, timeout=timeout)["data"]
    return titles, base64.b64decode(pdf)


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.part")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the singlehtml build, e.g. _build/singlehtml")
    parser.add_argument("pdf", type=Path, help="the PDF to write, e.g. _build/pdf/book.pdf")
    arguments = parser.parse_args()
    titles = print_book(arguments.site, arguments.pdf)
    print(f"{arguments.pdf}: {len(titles)} chapters")


if __name__ == "__main__":
    main()
