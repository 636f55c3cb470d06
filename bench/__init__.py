"""Benchmarks: `make bench` runs them all (see bench/run.py); results land in bench/results/."""
