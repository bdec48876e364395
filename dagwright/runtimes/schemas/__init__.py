"""The Spark and MPI operators' CRDs (upstream, gzipped), read by ``runtimes/crd.py``."""
