"""Throughput and memory benchmarks, reported against baselines measured in the same run."""
