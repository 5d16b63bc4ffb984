"""Letters: discovery, language fallback, sandboxed rendering, the MIME message.

::

    lib = Library.for_settings(settings)
    r = lib.get("mep").render(contact, asks=["caucus"], settings=settings,
                              message_id="<…>")
    wire = with_date(r.message, datetime.now(UTC))
"""

from outreach.letters.library import ASKS, FALLBACK, Letter, LetterSpec, Library, Rendered
from outreach.letters.mime import with_date

__all__ = ["ASKS", "FALLBACK", "Letter", "LetterSpec", "Library", "Rendered", "with_date"]
