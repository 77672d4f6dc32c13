"""Benchmarks of the Tasks API ports against their servers' ceilings (see bench/README.md)."""
