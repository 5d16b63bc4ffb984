"""The errors `outreach` raises on purpose.

Every expected failure is an :class:`OutreachError`. The CLI turns one into a
single line on standard error and exit code 1; nothing below the CLI prints or
exits. Third-party errors are wrapped where they enter, with the place they
concern (a file and line, a field, a host and port)::

    OutreachError                 base: message + optional place
    ├── ConfigError               outreach.toml / OUTREACH_* values
    ├── DatabaseError             cannot open, locked, read-only, newer schema
    ├── InputError                a user-supplied file or argument
    │   ├── ImportFileError       contact files: FILE:LINE: reason
    │   └── SelectionError        --where FIELD=VALUE grammar
    ├── NotFoundError             a contact, campaign, letter or reply by name
    ├── StateError                an action the current state forbids
    ├── TemplateError             letter source or render: TEMPLATE:LINE (contact)
    ├── TransportError            SMTP relay: HOST:PORT: what happened
    └── MailboxError              IMAP mailbox: HOST:PORT: what happened
"""

from __future__ import annotations


class OutreachError(Exception):
    """Base of every error `outreach` raises deliberately.

    ``place`` is where the problem is (``contacts/meps.csv:14``,
    ``smtp.example.org:587``, ``[smtp] url``); it prefixes the message.
    """

    def __init__(self, message: str, *, place: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.place = place

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message


class ConfigError(OutreachError):
    """A configuration value is missing, malformed or contradictory."""


class DatabaseError(OutreachError):
    """The database cannot be opened or used as asked."""


class InputError(OutreachError):
    """Something the user supplied (a file, an argument) is not acceptable."""


class ImportFileError(InputError):
    """A contact file cannot be read at all (not one bad row: those are reported)."""


class SelectionError(InputError):
    """A ``--where FIELD=VALUE`` filter names an unknown field or a bad value."""


class NotFoundError(OutreachError):
    """A named object (contact, campaign, letter, reply) does not exist."""


class StateError(OutreachError):
    """The object is in a state that does not allow this action."""


class TemplateError(OutreachError):
    """A letter cannot be found, parsed or rendered."""


class TransportError(OutreachError):
    """The SMTP relay cannot be used (unreachable, TLS, authentication)."""


class MailboxError(OutreachError):
    """The IMAP mailbox cannot be used (unreachable, TLS, login, folder)."""
