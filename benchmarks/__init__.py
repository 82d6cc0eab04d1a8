"""Runnable measurement scripts; results are recorded in benchmarks/README.md."""
