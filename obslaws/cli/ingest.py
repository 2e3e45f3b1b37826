"""Ingest commands: ingest lm-eval|card|leaderboard, eval (being written)."""

commands: list = []
