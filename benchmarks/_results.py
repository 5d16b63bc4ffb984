"""Writing one benchmark's section of benchmarks/RESULTS.md.

Each benchmark owns the text between ``<!-- BEGIN name -->`` and
``<!-- END name -->`` and replaces only that; everything else is kept.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def replace_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Put ``body`` between this benchmark's markers (appending them the first time)."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
