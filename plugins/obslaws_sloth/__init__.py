"""obslaws built-in plugin: sloth (being written)."""
