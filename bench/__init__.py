"""Benchmarks: instance generators and timed runs, written to bench/results/ by `make bench`."""
