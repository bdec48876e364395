"""Provenance of runs and artifacts (the lineage graph in MLflow arrives with the lineage work)."""
