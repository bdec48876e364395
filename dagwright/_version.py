"""The one place dagwright's version is written: setup.cfg reads it (``attr:``), and so do
``dagwright.__version__``, the compilers' pins and ``dagwright --version``."""

__version__ = "0.1.0"
