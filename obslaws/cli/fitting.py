"""Fitting commands: plugins, fit, predict, backtest (being written)."""

commands: list = []
