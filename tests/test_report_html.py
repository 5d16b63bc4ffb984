"""The HTML report: self-contained, escaped, and drawn by a real headless Chromium.

The Chromium test loads the demo campaign's report (with a hostile reply added),
checks the rendered DOM for the charts, the network log for requests made by the
page, the console for script errors, and the screenshot for drawn bars. A control
page (one script error, one remote image) proves those detectors see what they
look for.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import zlib
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from outreach.campaigns.demo import make_folder, run_demo
from outreach.config import Settings, load_settings
from outreach.db import open_db
from outreach.models import Campaign, Contact, Delivery, Reply
from outreach.replies.stance import record_stances
from outreach.report import render_report
from tests.conftest import require_server
from tests.helpers_report import build_known

EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
CHARTS = ("chart-funnel", "chart-by-country", "chart-by-group", "chart-stances")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


class Tags(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Tags:
    found = Tags()
    found.feed(page)
    return found


def assert_self_contained(page: str) -> Tags:
    found = parse(page)
    names = {tag for tag, _ in found.tags}
    assert not names & {"script", "img", "link", "iframe", "object", "embed", "image", "use",
                        "foreignobject", "a", "base", "form"}, names
    for tag, attrs in found.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in {"src", "href", "xlink:href", "action", "srcset", "poster"}:
                pytest.fail(f"<{tag} {name}={value!r}>")
            if value and tag != "meta":
                assert "http:" not in value
                assert "https:" not in value
                assert "url(" not in value
    assert "<script" not in page.lower()
    style = page[page.index("<style>"):page.index("</style>")]
    assert "@import" not in style
    assert "url(" not in style
    return found


async def test_html_escapes_everything_and_fetches_nothing(db: Settings) -> None:
    known = await build_known()
    a = known.people["a"]
    await Contact.filter(id=a.id).update(name=f"Eve {EVIL}")
    await Campaign.filter(id=known.c1.id).update(name="c1<b>")
    await Reply.create(message_id="<evil@test>", kind="reply", contact=a, campaign=known.c1,
                       from_address="a@example.org", subject=f"Re: {EVIL}", body=EVIL,
                       received_at=known.sent + timedelta(hours=40))
    await Delivery.filter(campaign_id=known.c1.id).update(subject=f"Letter {EVIL}")
    page = await render_report([], format="html", now=known.now)
    found = assert_self_contained(page)
    # the reply's text and subject, the contact's name, c1's subject in its 4 languages
    assert page.count(EVIL_ESCAPED) == 7
    assert f"Eve {EVIL_ESCAPED}" in page
    assert f"Re: {EVIL_ESCAPED}" in page
    assert f"“Letter {EVIL_ESCAPED}”" in page
    assert EVIL not in page
    assert "c1<b>" not in page
    assert "c1&lt;b&gt;" in page
    text = "".join(found.text)
    assert EVIL in text  # shown, as text
    svgs = [attrs.get("id") for tag, attrs in found.tags if tag == "svg"]
    assert svgs == list(CHARTS)
    bars = [attrs for tag, attrs in found.tags if tag == "rect" and attrs.get("class") == "bar"]
    # funnel: 5 stages + 2 asks; country and group: 2 series x 4 keys; stances: 6 x 2 asks
    assert len(bars) == 7 + 8 + 8 + 12
    assert 'http-equiv="Content-Security-Policy"' in page
    assert "default-src 'none'" in page
    assert "@media print" in page


# --- real Chromium -------------------------------------------------------------------------


def chromium(profile: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["chromium", *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         *extra, url],
        capture_output=True, text=True, timeout=120, check=True)


def page_requests(net_log: Path) -> list[str]:
    """URLs the page asked for (the browser's own requests have no origin as initiator)."""
    data = json.loads(net_log.read_text(encoding="utf-8"))
    start = data["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    found = []
    for event in data["events"]:
        params = event.get("params", {})
        if event["type"] == start and "url" in params and params.get("initiator") != \
                "not an origin":
            found.append(str(params["url"]))
    return found


def script_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows of RGB(A) bytes of a non-interlaced 8-bit PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:8], "big")
    depth, colour, interlace = header[8], header[9], header[12]
    assert (depth, interlace) == (8, 0)
    assert colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i:i + 3]) for r in rows for i in range(0, stride, bpp)]


def demo_report(folder: Path, cli: Any) -> Path:
    """The demo campaign, a hostile reply and a stance, and its HTML report."""
    asyncio.run(run_demo(make_folder(folder)))
    settings = load_settings(folder / "outreach.toml")

    async def seed() -> None:
        async with open_db(settings.database_url):
            campaign = await Campaign.get(name="demo-meps")
            target = await Contact.filter(kind="mep").order_by("id").first()
            assert target is not None
            await Reply.create(
                message_id="<evil@demo>", kind="reply", contact=target, campaign=campaign,
                from_address=target.email or "", subject="Re: Interpol", body=EVIL,
                received_at=(await Delivery.get(campaign_id=campaign.id,
                                                contact_id=target.id)).sent_at)
            await record_stances(target, {"caucus": "supports"}, actor="test",
                                 campaign=campaign)

    asyncio.run(seed())
    out = folder / "report.html"
    result = cli("--config", str(folder / "outreach.toml"), "report", "--format", "html",
                 "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out


@pytest.mark.sqlite_only
def test_demo_report_in_headless_chromium(cli: Any, tmp_path: Path) -> None:
    require_server(shutil.which("chromium") is not None, "Chromium", "apt-get install chromium")
    report = demo_report(tmp_path / "demo", cli)
    page = report.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert EVIL_ESCAPED in page
    url = report.resolve().as_uri()

    dump = chromium(tmp_path / "p1", url, f"--log-net-log={tmp_path / 'net.json'}",
                    "--dump-dom")
    dom = dump.stdout
    for chart in CHARTS:
        assert f'id="{chart}"' in dom, chart
    assert dom.count('class="bar"') >= 20
    assert "<script" not in dom.lower()
    assert EVIL_ESCAPED in dom
    assert page_requests(tmp_path / "net.json") == []
    assert script_errors(dump.stderr) == []

    shot = tmp_path / "report.png"
    chromium(tmp_path / "p2", url, f"--screenshot={shot}", "--window-size=1100,2600",
             "--force-device-scale-factor=0.5", "--hide-scrollbars")
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (550, 1300)
    colours = set(pixels)
    assert len(colours) > 50  # text, tables and bars, not a blank page
    sent_blue, targeted_grey = bytes((0x4E, 0x79, 0xA7)), bytes((0x9A, 0xA5, 0xB1))
    assert sent_blue in colours
    assert targeted_grey in colours
    assert sum(p == sent_blue for p in pixels) > 500


@pytest.mark.sqlite_only
def test_chromium_detectors_see_errors_and_requests(tmp_path: Path) -> None:
    """The control: a page with a script error and a remote image is caught by both checks."""
    require_server(shutil.which("chromium") is not None, "Chromium", "apt-get install chromium")
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><p>x</p><img src="http://127.0.0.1:9/x.png">'
                       "<script>no_such_function()</script>", encoding="utf-8")
    run = chromium(tmp_path / "p", control.as_uri(), f"--log-net-log={tmp_path / 'n.json'}",
                   "--dump-dom")
    assert page_requests(tmp_path / "n.json") == ["http://127.0.0.1:9/x.png"]
    assert any("no_such_function" in line for line in script_errors(run.stderr))
