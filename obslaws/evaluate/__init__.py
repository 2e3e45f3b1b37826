"""Evaluating checkpoints with lm-evaluation-harness and ingesting what they score (``obslaws eval``)."""
