"""Benchmark suite for dynamodb-sessions (see benchmarks/README.md). Not part of the tests."""
