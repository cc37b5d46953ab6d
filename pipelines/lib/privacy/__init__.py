"""Forgetting people: erasure requests applied to every file the pipeline owns."""
