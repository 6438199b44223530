"""Metrics shared by the tests, the benchmark suite and threshold tuning."""
