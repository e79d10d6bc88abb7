"""``report --html`` in a real browser: Debian's headless Chromium opens the page from disk, its DOM
is read (``--dump-dom``) and a screenshot taken. The crash loop is listed, the timeline draws one
series per (group, category) the archive holds, and nothing in the page points outside it.

Chromium is found as ``$CHROMIUM``, else ``chromium`` or ``chromium-browser`` on PATH. Without it
the test is skipped with how to get it (``apt-get install chromium``); under CI (``CI=true``,
where ``.ci/run`` installs it) a missing browser fails the test instead.

Every request the browser makes goes to a recording proxy on loopback: the page's own requests
would show there. Chromium itself still calls Google's update, time and sign-in services now and
then, whatever the flags say; those (hosts under google.com, googleapis.com, gstatic.com) are left
out of the check, and the page is also held to have no URL at all.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from forwarder.cli import main
from tests import report_archive
from tests.report_archive import LOOP

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
BROWSER_OWN = re.compile(r"(?:^|\.)(?:google\.com|googleapis\.com|gstatic\.com)$")
URL = re.compile(r"\b[a-z][a-z0-9+.-]*://", re.IGNORECASE)
LINKING = {"src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data", "background", "cite"}


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "needs Debian's chromium: apt-get install chromium (or set CHROMIUM=/path/to/chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"chromium is missing under CI: .ci/run installs it; {message}")
    pytest.skip(message)


def test_without_chromium_it_skips_saying_how_to_get_it_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        chromium()


class _Recorder(BaseHTTPRequestHandler):
    """A proxy that forwards nothing: it notes each request (host and request line) and refuses it."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def _refuse(self) -> None:
        target = self.path.split("://", 1)[-1]
        host = target.split("/", 1)[0].rsplit(":", 1)[0]
        type(self).seen.append((host, self.requestline))
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = do_CONNECT = do_PUT = do_OPTIONS = _refuse

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    recorder = type("Recorder", (_Recorder,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorder.seen
    finally:
        server.shutdown()


def browse(browser: str, page: Path, profile: Path, proxy: str, *action: str) -> subprocess.CompletedProcess[str]:
    command = [browser, *FLAGS, f"--user-data-dir={profile}", f"--proxy-server={proxy}",
               "--proxy-bypass-list=<-loopback>", *action, page.as_uri()]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


class Node:
    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs, self.children, self.text = tag, attrs, [], ""  # type: ignore[var-annotated]

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def content(self) -> str:
        return self.text + "".join(child.content() for child in self.children)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find(self, tag: str | None = None, cls: str | None = None, id_prefix: str | None = None) -> list[Node]:
        return [
            node for node in self.walk()
            if (tag is None or node.tag == tag) and (cls is None or cls in node.classes())
            and (id_prefix is None or node.attrs.get("id", "").startswith(id_prefix))
        ]  # fmt: skip


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        holder = self.stack[-1]
        if holder.children:
            holder.children[-1].text += ""  # text after a child: kept on the holder, in order enough
        holder.text += data


def dom(text: str) -> Node:
    tree = _Tree()
    tree.feed(text)
    return tree.root


def test_the_page_in_headless_chromium(tmp_path: Path, proxy: tuple[str, list[tuple[str, str]]]) -> None:
    browser = chromium()
    expected = report_archive.build(tmp_path / "archive")
    page = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "archive"), "--html", str(page)]) == 0
    source = page.read_text()

    address, seen = proxy
    dumped = browse(browser, page, tmp_path / "profile-dom", address, "--dump-dom").stdout
    document = dom(dumped)

    # the crash loop is listed, once, with its start, end, count and category
    [loop] = document.find("tr", cls="loop-row")
    cells = {cls: node.content().strip() for node in loop.find("td") for cls in node.classes()}
    cluster, _, family = LOOP
    assert cells["group"] == f"{cluster}/{family} (task)"
    assert cells["category"] == expected.loop_category
    assert cells["count"] == str(expected.loop_count)
    assert (cells["first"], cells["last"]) == (f"{expected.loop_first:%Y-%m-%d %H:%M}", f"{expected.loop_last:%Y-%m-%d %H:%M}")
    assert "ongoing" not in loop.classes()

    # the timeline: one series per (group, category) the archive holds, the loop shaded once
    [timeline] = document.find("section", id_prefix="timeline")
    assert len(timeline.find("svg")) == 1
    series = timeline.find("g", id_prefix="series-")
    assert len(series) == len(expected.series)
    assert {node.attrs["id"].split("-", 2)[2] for node in series} == {category for _, category in expected.series}
    assert len(timeline.find("g", id_prefix="loop-")) == 1

    # nothing leaves the file: no URL in any attribute or stylesheet, no link but to a fragment of
    # the page (the text may quote one: stop reasons name registries and endpoints)
    for tree in (dom(source), document):
        for node in tree.walk():
            for name, value in node.attrs.items():
                assert not URL.search(value), (node.tag, name, value)
                if name in LINKING:
                    assert value.startswith("#"), (node.tag, name, value)
                refs = re.findall(r"url\(\s*['\"]?([^'\")]*)", value)
                assert all(ref.startswith("#") for ref in refs), (node.tag, name, value)
            if node.tag in ("style", "script"):
                assert node.tag == "style" and not URL.search(node.content()) and "@import" not in node.content()
                assert "url(" not in node.content()

    shot = tmp_path / "report.png"
    browse(browser, page, tmp_path / "profile-shot", address, "--window-size=1280,2200", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    if os.environ.get("REPORT_SCREENSHOT"):  # to look at it: REPORT_SCREENSHOT=path pytest ...
        shutil.copy(shot, os.environ["REPORT_SCREENSHOT"])

    from_page = [line for host, line in seen if not BROWSER_OWN.search(host)]
    assert from_page == []
