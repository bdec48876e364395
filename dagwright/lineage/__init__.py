"""Provenance of runs and artifacts: a networkx graph in W3C PROV terms (``graph.py``),
recorded by the engine (``recorder.py``) and kept in MLflow (``tracking.py``)."""
