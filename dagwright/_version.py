"""The one place dagwright's version is written: setup.cfg reads it (``attr:``), and so do
``dagwright.__version__`` and the compilers' pins; ``dagwright --version`` reports the
installed distribution's version (the same number, read from its metadata)."""

__version__ = "0.1.0"
