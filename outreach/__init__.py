"""outreach: an async mailer for advocacy campaigns."""

__version__ = "0.1.0"
