"""obslaws built-in plugin: lowrank (being written)."""
