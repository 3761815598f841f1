"""Benchmarks: ``python -m bench`` measures the kit against its targets and writes BENCHMARKS.md."""
