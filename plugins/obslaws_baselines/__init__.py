"""obslaws built-in plugin: baselines (being written)."""
