"""Where the shipped letters and reference data are.

In a wheel the top-level ``templates/`` and ``contacts/`` folders are installed as
``outreach/_data/…``; in a source checkout (editable install) they are beside the
package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The shipped ``templates`` or ``contacts`` folder."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"outreach is installed without its {name}/ folder")


def shipped_templates() -> Path:
    return data_dir("templates")


def shipped_contacts() -> Path:
    return data_dir("contacts")
