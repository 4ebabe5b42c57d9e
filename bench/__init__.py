"""Benchmarks: `make bench` (or `python -m bench [name ...]`).

Adding one is adding a module here with `def run() -> dict`: it returns its measurements
as {label: number or text}; a "summary" entry, if present, is the one-line verdict. The
runner times nothing itself: each benchmark measures what it means.
"""
