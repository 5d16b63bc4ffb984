"""HTML → plain text for replies that come without a text/plain part.

Good enough to read a reply and to run text patterns on it: block elements
become line breaks, ``<script>``/``<style>``/``<head>`` are dropped, entities
are decoded, ``<blockquote>`` lines get a ``> `` prefix so quoted text stays
recognisable as quoted. Never raises.
"""

from __future__ import annotations

from html.parser import HTMLParser

_BLOCK = frozenset(
    "p div br li ul ol tr table h1 h2 h3 h4 h5 h6 hr pre address section article "
    "header footer blockquote dd dt".split()
)
_SKIP = frozenset({"script", "style", "head", "title", "template"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skipping = 0
        self.quote_depth = 0

    def _break(self) -> None:
        text = " ".join("".join(self.current).split())
        self.current = []
        prefix = "> " * self.quote_depth
        if text:
            self.lines.append(prefix + text)
        elif self.lines and self.lines[-1] != "":
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCK:
            self._break()
            if tag == "blockquote":
                self.quote_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in _BLOCK:
            self._break()
            if tag == "blockquote":
                self.quote_depth = max(self.quote_depth - 1, 0)

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.current.append(data)


def html_to_text(markup: str) -> str:
    """The readable text of an HTML document."""
    collector = _TextCollector()
    try:
        collector.feed(markup)
        collector.close()
    except Exception:  # html.parser is lenient; this guards odd input only
        return " ".join(markup.split())
    collector._break()
    return "\n".join(collector.lines).strip()
