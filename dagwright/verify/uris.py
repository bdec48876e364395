"""Text naming an artifact its own run made, as ``dagwright verify`` compares it.

A step may return the URI of an artifact made in its run (``return model.uri``) or write it
into a text artifact (a model card). That text differs between dagwright's run and kfp.local's
by nature: each run writes under its own folder. So on each side the URIs (and local paths) of
that run's own artifacts are read as their place, ``<train-model/model>`` (task, loop
iteration, output), and what they name is compared by content, as the artifact rows are:

- a string output the same on both sides so read, naming an artifact: ``same (artifact at
  the URI)`` when each artifact it names has the same content on both sides, else ``differs
  (artifact at the URI)``;
- an artifact whose bytes differ but whose text (UTF-8, up to ``TEXT_LIMIT`` bytes) is the
  same so read: ``same (its run's URIs aside)``, on the same condition;
- a string still different that names a path in either run's own folder (a scratch file, a
  run id): ``differs: run-local URI``. It counts as a difference (exit 1): verify cannot
  tell whether what it names is the same, and a pipeline's outputs should not depend on
  where its run happened to write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagwright.verify.values import Content, same

SAME_ARTIFACT = "same (artifact at the URI)"
SAME_ASIDE = "same (its run's URIs aside)"
DIFFERS_ARTIFACT = "differs (artifact at the URI)"
RUN_LOCAL = "differs: run-local URI"

TEXT_LIMIT = 1 << 20  # bigger artifacts are data, compared by their bytes only


@dataclass
class Places:
    """One run's own artifacts: each URI by its place, what each place holds, the run's folder."""

    folder: str = ""  # where the run writes; "" when not known
    uris: dict[str, str] = field(default_factory=dict)  # URI or path -> place
    held: dict[str, Any] = field(default_factory=dict)  # place -> values.Content

    def add(self, place: str, value: Any, content: Any) -> None:
        """Note ``value``, an output of either side, when it is an artifact."""
        uris = _uris(value)
        for uri in uris:
            self.uris[uri.rstrip("/")] = place
        if uris and isinstance(content, Content):
            self.held[place] = content

    def read(self, text: str) -> tuple[str, set[str]]:
        """``text`` with each of the run's artifact URIs as its ``<place>``, and the places."""
        named = set()
        for uri in sorted(self.uris, key=len, reverse=True):  # a URI before its prefixes
            if uri and uri in text:
                text = text.replace(uri, f"<{self.uris[uri]}>")
                named.add(self.uris[uri])
        return text, named

    def local(self, text: str) -> bool:
        """Whether ``text`` names a path in the run's own folder."""
        folder = self.folder.rstrip("/")
        return bool(folder) and (folder + "/" in text or text == folder)


def verdict(
    raw: tuple[Any, Any], compared: tuple[Any, Any], places: tuple[Places, Places]
) -> str | None:
    """The verdict on two outputs that differ as values (dagwright's first, kfp.local's
    second), when either names its run's artifacts or folder; None: a plain difference."""
    a, b = compared
    mine, theirs = places
    if isinstance(a, str) and isinstance(b, str):
        (text_a, named), (text_b, _) = mine.read(a), theirs.read(b)
        if named and text_a == text_b:
            return SAME_ARTIFACT if _held_alike(named, places) else DIFFERS_ARTIFACT
        return RUN_LOCAL if mine.local(a) or theirs.local(b) else None
    if isinstance(a, Content) and isinstance(b, Content) and a.kind == b.kind == "digest":
        texts = _text(raw[0]), _text(raw[1])
        if texts[0] is None or texts[1] is None:
            return None
        (text_a, named), (text_b, _) = mine.read(texts[0]), theirs.read(texts[1])
        if named and text_a == text_b and _held_alike(named, places):
            return SAME_ASIDE
    return None


def _held_alike(named: set[str], places: tuple[Places, Places]) -> bool:
    mine, theirs = places
    return all(
        p in mine.held and p in theirs.held and same(mine.held[p], theirs.held[p]) for p in named
    )


def _uris(value: Any) -> list[str]:
    """An artifact's URI and local path: dagwright's ``Artifact``, kfp.local's as
    ``kfp_local.plain`` gives it."""
    kfp = value.get("artifact") if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(kfp, dict) and isinstance(kfp.get("uri"), str):
        return [kfp["uri"]]  # kfp.local's: a local path, as values.comparable reads it
    if hasattr(value, "type_name") and isinstance(getattr(value, "uri", None), str):
        return sorted({value.uri, str(value.path)})
    return []


def _text(value: Any) -> str | None:
    """An artifact's file as text, when it is a UTF-8 file of at most ``TEXT_LIMIT`` bytes."""
    paths = [u for u in _uris(value) if not u.startswith(("file://", "s3://", "gs://"))]
    try:
        path = Path(paths[-1])
        if not path.is_file() or path.stat().st_size > TEXT_LIMIT:
            return None
        return path.read_text(encoding="utf-8")
    except (IndexError, OSError, UnicodeDecodeError):
        return None
