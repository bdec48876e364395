"""The local web UI (``dagwright ui``): a Starlette app over the store the CLI uses
(``server.make_app``, served by ``server.serve``), its JSON API, and the single page in
``static/``.

``import dagwright`` never imports this package, and this package imports nothing itself:
Starlette and uvicorn load with ``dagwright.ui.server`` (``pip install 'dagwright[ui]'``).
"""
