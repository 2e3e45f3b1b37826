"""obslaws built-in plugin: densing (being written)."""
