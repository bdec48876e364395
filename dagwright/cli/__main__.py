"""``python -m dagwright.cli``: the ``dagwright`` command."""

from dagwright.cli import main

main()
