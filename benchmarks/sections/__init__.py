"""Benchmark sections that live in their own files; ``run.py`` imports them by name."""
