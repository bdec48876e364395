"""The local web UI (``dagwright ui``): a Starlette app over the store the CLI uses, its JSON
API, and the single page in ``static/``.

``import dagwright`` never imports this package, and importing it imports no Starlette: the
server's modules load when ``serve`` or ``make_app`` is first used (``pip install
'dagwright[ui]'`` brings what they need).
"""

from __future__ import annotations

from typing import Any

__all__ = ["make_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from dagwright.ui import server

        return getattr(server, name)
    raise AttributeError(f"module 'dagwright.ui' has no attribute '{name}'")
