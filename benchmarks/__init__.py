"""Benchmarks (run as modules: ``python -m benchmarks.bench_insights``); not part of tests."""
