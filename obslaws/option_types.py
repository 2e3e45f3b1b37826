"""Checks of option values (a fitter's hyperparameters, a protocol's options) against their defaults."""

from __future__ import annotations

from typing import Any


def word_for_number(value: Any, default: Any) -> bool:
    """Text given where the default is a number (not a flag): it would fail deep in ``int()``,
    ``float()`` or numpy with an error that names no option.

    >>> word_for_number("abc", 0.1), word_for_number(0.5, 0.1), word_for_number("x", True)
    (True, False, False)
    """
    return isinstance(value, str) and isinstance(default, int | float) and not isinstance(default, bool)


def word_for_flag(value: Any, default: Any) -> bool:
    """Text given where the default is a flag: ``-o anchored_kind=False`` (JSON's false is lower
    case) arrives as the text "False", which Python reads as true.

    >>> word_for_flag("False", True), word_for_flag(False, True), word_for_flag(1, True), word_for_flag("x", 0.1)
    (True, False, False, False)
    """
    return isinstance(value, str) and isinstance(default, bool)
