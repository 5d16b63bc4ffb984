"""One Markdown source, two parts: the HTML and the plain text of a letter.

markdown-it-py parses once; the HTML comes from its renderer (raw HTML in the
source is disabled, so it shows as text) and the plain text from a small
renderer over the same tokens. :func:`escape` makes a value inert Markdown:
the Jinja environment applies it to every ``{{ value }}``, so contact data can
never become a link, a list or markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&=:\"'^$%@])")


def escape(text: str) -> str:
    """Inert Markdown: punctuation backslash-escaped, each newline a hard line break."""
    escaped = _SPECIAL.sub(r"\\\1", text)
    if "\n" not in escaped and "\r" not in escaped:
        return escaped
    unified = escaped.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.strip() for line in unified.split("\n")]
    return "\\\n".join(line for line in lines if line)


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": False, "typographer": False})
    md.disable(["html_block", "html_inline", "image"])
    return md


def render_whole(source: str) -> tuple[str, str]:
    """(HTML fragment, plain text) of a Markdown source, parsed in one piece."""
    md = _parser()
    tokens = md.parse(source)
    html = md.renderer.render(tokens, md.options, {})
    return html, to_text(tokens)


_BLANK = re.compile(r"\n[ \t]*\n+")
_LIST_START = re.compile(r"^(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_WHOLE_ONLY = re.compile(r"^ {0,3}(?:```|~~~|\[[^\]]+\]:)", re.MULTILINE)
_CACHE: dict[str, tuple[str, str]] = {}
_CACHE_LIMIT = 4096


def blocks(source: str) -> list[str]:
    """The source cut at blank lines into self-contained blocks (a list stays whole)."""
    out: list[str] = []
    for chunk in _BLANK.split(source.strip("\n")):
        if not chunk.strip():
            continue
        if out and (chunk[0] in " \t" or (_LIST_START.match(chunk) and _LIST_START.match(out[-1]))):
            out[-1] = f"{out[-1]}\n\n{chunk}"
        else:
            out.append(chunk)
    return out


def render(source: str) -> tuple[str, str]:
    """(HTML fragment, plain text) of a Markdown source.

    A letter differs from the next one in a few paragraphs only (the greeting,
    a sentence with the country), so each block is rendered once and cached:
    the same result as :func:`render_whole`, at a fraction of the cost. Sources
    with fenced code or link reference definitions are rendered whole.
    """
    if _WHOLE_ONLY.search(source):
        return render_whole(source)
    html_parts: list[str] = []
    text_parts: list[str] = []
    for block in blocks(source):
        found = _CACHE.get(block)
        if found is None:
            if len(_CACHE) >= _CACHE_LIMIT:
                _CACHE.clear()
            found = render_whole(block)
            _CACHE[block] = found
        html_parts.append(found[0])
        text_parts.append(found[1].rstrip("\n"))
    return "".join(html_parts), "\n\n".join(text_parts) + "\n"


def to_text(tokens: Sequence[Token]) -> str:
    """Plain text: paragraphs apart, list items marked, emphasis dropped, links spelled out."""
    blocks: list[str] = []
    prefix: list[str] = []  # list / quote indentation of the current nesting
    counters: list[int] = []  # 0 for a bullet list, else the next number
    pending_item = ""
    hidden = False  # the paragraph belongs to a tight list
    join_next = False  # a tight list item follows another one: no blank line
    for tok in tokens:
        t = tok.type
        if t == "bullet_list_open":
            counters.append(0)
            join_next = False
        elif t == "ordered_list_open":
            counters.append(int(tok.attrGet("start") or 1))
            join_next = False
        elif t in ("bullet_list_close", "ordered_list_close"):
            counters.pop()
            join_next = False
        elif t == "list_item_open":
            if counters and counters[-1]:
                pending_item = f"{counters[-1]}. "
                counters[-1] += 1
            else:
                pending_item = "- "
            prefix.append(" " * len(pending_item))
        elif t == "list_item_close":
            prefix.pop()
        elif t == "blockquote_open":
            prefix.append("> ")
        elif t == "blockquote_close":
            prefix.pop()
        elif t == "paragraph_open":
            hidden = tok.hidden
        elif t == "inline":
            indent = "".join(prefix)
            first = indent
            if pending_item:
                first = indent[: len(indent) - len(prefix[-1])] + pending_item
                pending_item = ""
            lines = _inline(tok.children or []).split("\n")
            text = "\n".join([first + lines[0]] + [indent + line for line in lines[1:]])
            if hidden and join_next and blocks:
                blocks[-1] += "\n" + text
            else:
                blocks.append(text)
            join_next = hidden
        elif t in ("fence", "code_block"):
            indent = "".join(prefix)
            body = tok.content.rstrip("\n").split("\n")
            blocks.append("\n".join(indent + line for line in body))
            join_next = False
        elif t == "hr":
            blocks.append("".join(prefix) + "----")
            join_next = False
    return "\n\n".join(b.rstrip() for b in blocks) + "\n"


def _inline(children: Sequence[Token]) -> str:
    parts: list[str] = []
    href: list[str] = []
    link_start: list[int] = []
    for child in children:
        t = child.type
        if t in ("text", "code_inline"):
            parts.append(child.content)
        elif t == "softbreak":
            parts.append(" ")
        elif t == "hardbreak":
            parts.append("\n")
        elif t == "link_open":
            href.append(str(child.attrGet("href") or ""))
            link_start.append(len(parts))
        elif t == "link_close":
            url = href.pop()
            label = "".join(parts[link_start.pop():])
            if url and url not in (label, f"mailto:{label}"):
                parts.append(f" <{url}>")
    return "".join(parts)
