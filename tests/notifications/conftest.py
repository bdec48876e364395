"""The notifiers' receivers (``tests/notify_receivers.py``) as fixtures of these tests."""

from notify_receivers import http_receiver, smtp_receiver, tls_smtp_receiver

__all__ = ["http_receiver", "smtp_receiver", "tls_smtp_receiver"]
