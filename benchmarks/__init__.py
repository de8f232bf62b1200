"""Benchmarks: ours against a baseline in the same run, kept out of the test suite."""
