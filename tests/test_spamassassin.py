"""Every shipped letter, in every language, passes SpamAssassin's local rules (≤ 0.5).

Each letter is rendered for a sample target of the kind it is meant for, with all
the asks it can carry and a Date, then scored with ``spamassassin -L -t``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from outreach.config import Settings
from outreach.letters import ASKS, Library, with_date
from outreach.resources import shipped_templates
from tests.conftest import require_server
from tests.helpers_letters import SAMPLES, sample

pytestmark = [pytest.mark.spamassassin, pytest.mark.slow]

LIMIT = 0.5
_STATUS = re.compile(r"^X-Spam-Status: \w+, score=(-?\d+(?:\.\d+)?)", re.MULTILINE)
TARGET = {"mep": SAMPLES[0], "government": SAMPLES[2], "follow-up": SAMPLES[0]}
WHEN = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def _letters() -> list[tuple[str, str, bytes]]:
    lib = Library([shipped_templates()])
    out = []
    for letter in lib.letters():
        row = TARGET.get(letter.name, SAMPLES[0])
        rows = [row]
        if letter.name == "government":
            # an office known by no person's name and no role gets the collective greeting
            rows.append({**row, "name": "", "first_name": "", "last_name": "",
                         "honorific": "", "role": ""})
        previous = ({"sent_on": date(2026, 11, 16), "subject": "Interpol reform"}
                    if letter.spec.follow_up else None)
        for lang in letter.languages:
            for n, target in enumerate(rows):
                rendered = letter.render(
                    sample(**target), asks=list(ASKS), settings=Settings(), lang=lang,
                    message_id=f"<outreach.c1.t{n}.{letter.name}{lang}@example.org>",
                    previous=previous,
                )
                label = letter.name if n == 0 else f"{letter.name} (no name, no role)"
                out.append((label, lang, with_date(rendered.message, WHEN)))
    return out


def _score(message: bytes, home: Path) -> tuple[float, str]:
    proc = subprocess.run(
        ["spamassassin", "-L", "-t"], input=message, capture_output=True, timeout=120,
        env={**os.environ, "HOME": str(home)}, check=False,
    )
    output = proc.stdout.decode("utf-8", "replace")
    found = _STATUS.search(output)
    assert found, f"no X-Spam-Status in spamassassin output: {proc.stderr[-500:]!r}"
    report = output.split("Content analysis details:", 1)[-1][:2000]
    return float(found.group(1)), report


def test_every_shipped_letter_scores_low(tmp_path: Path) -> None:
    require_server(shutil.which("spamassassin") is not None, "spamassassin",
                   "apt-get install spamassassin")
    letters = _letters()
    assert len(letters) >= 3
    with ThreadPoolExecutor(max_workers=2) as pool:
        scores = list(pool.map(lambda item: _score(item[2], tmp_path), letters))
    too_high = [
        f"{name}/{lang}: {score}\n{report}"
        for (name, lang, _), (score, report) in zip(letters, scores, strict=True)
        if score > LIMIT
    ]
    assert not too_high, "\n".join(too_high)
