"""Telling people how a run ended: the message (``message.py``) and the notifiers that carry
it (``send.py``), used by the local engine and by the exit task compiled for KFP and Argo
(``pod.py``). A notifier that fails is a warning in the log, never a failed run."""

from dagwright.notifications.message import FailedStep, RunEnd
from dagwright.notifications.send import send_all

__all__ = ["FailedStep", "RunEnd", "send_all"]
