"""Runnable measurement scripts; results are recorded in benchmarks/README.md.

Run one with ``python -m benchmarks.NAME`` or ``metaspatial bench NAME`` (:mod:`benchmarks.cli`)
from a checkout of the repository: the package is not shipped in the wheel.
"""
