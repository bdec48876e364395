"""Benchmarks: plain commands that print a table, peers measured in the same run."""
