"""obslaws built-in plugin: loss2loss (being written)."""
