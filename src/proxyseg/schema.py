"""Types and sane ranges of values read from outside, checked before anything is allocated.

A model's constructor arguments, a model directory's ``config.json`` and a dictionary's
``dictionary.json`` may come from someone else: every value is checked against a rule of this
module (its JSON type, and a range generous for real use but finite) before it sizes anything.
A value that breaks its rule is a ``ValueError`` naming the field, e.g. ``blocks must be an
integer from 1 to 16, got 10000000``. Each model class keeps its table of rules next to its
constructor (``TCNSegmenter.ARGUMENTS``); the limits on a model's size are in
:mod:`proxyseg.models.size`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass


def _shown(value) -> str:
    """``value`` for a one-line message: in JSON's words, and at most 40 characters."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Rule:
    """What a value may be; :meth:`check` raises a ``ValueError`` starting with ``name``."""

    def check(self, value, name: str) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Integer(Rule):
    """An integer (not a boolean, not ``3.0``) from ``low`` to ``high``.

    >>> Integer(1, 16).check(10_000_000, "blocks")
    Traceback (most recent call last):
    ValueError: blocks must be an integer from 1 to 16, got 10000000
    """

    low: int
    high: int

    def check(self, value, name: str) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not self.low <= value <= self.high:
            raise ValueError(f"{name} must be an integer from {self.low} to {self.high}, got {_shown(value)}")


@dataclass(frozen=True)
class Number(Rule):
    """A finite number (not a boolean) from ``low`` to ``high``, ``low`` excluded when ``above``."""

    low: float
    high: float
    above: bool = False

    def check(self, value, name: str) -> None:
        valid = (not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
                 and (value > self.low if self.above else value >= self.low) and value <= self.high)
        if not valid:
            low = f"above {self.low}" if self.above else f"from {self.low}"
            raise ValueError(f"{name} must be a finite number {low} to {self.high}, got {_shown(value)}")


@dataclass(frozen=True)
class Choice(Rule):
    """One of ``options`` (never a boolean, which would equal 1 or 0)."""

    options: tuple

    def check(self, value, name: str) -> None:
        if isinstance(value, bool) or value not in self.options:
            raise ValueError(f"{name} must be one of {', '.join(map(_shown, self.options))}, got {_shown(value)}")


@dataclass(frozen=True)
class Text(Rule):
    """A string of at most ``longest`` characters."""

    longest: int = 1000

    def check(self, value, name: str) -> None:
        if not isinstance(value, str) or len(value) > self.longest:
            raise ValueError(f"{name} must be a string of at most {self.longest} characters, got {_shown(value)}")


@dataclass(frozen=True)
class Nullable(Rule):
    """``None`` (JSON's null), or what ``rule`` allows."""

    rule: Rule

    def check(self, value, name: str) -> None:
        if value is not None:
            self.rule.check(value, name)


@dataclass(frozen=True)
class ListOf(Rule):
    """A list of ``shortest`` to ``longest`` items, each allowed by ``item``, all different if ``unique``."""

    item: Rule
    shortest: int = 0
    longest: int = 1000
    unique: bool = False

    def check(self, value, name: str) -> None:
        if not isinstance(value, list) or not self.shortest <= len(value) <= self.longest:
            raise ValueError(f"{name} must be a list of {self.shortest} to {self.longest} items, got {_shown(value)}")
        for index, item in enumerate(value):
            self.item.check(item, f"{name}[{index}]")
        if self.unique and len(set(value)) < len(value):
            raise ValueError(f"{name} must not repeat an item, got {_shown(value)}")


@dataclass(frozen=True)
class Fields(Rule):
    """A JSON object whose keys are among ``rules`` (those in ``required`` present), each value allowed by its rule."""

    rules: Mapping[str, Rule]
    required: tuple[str, ...] = ()

    def check(self, value, name: str) -> None:
        if not isinstance(value, Mapping):
            raise ValueError(f"{name} must be an object, got {_shown(value)}")
        check(value, self.rules, f"{name}.", self.required)


@dataclass(frozen=True)
class MapOf(Rule):
    """A JSON object whose keys are allowed by ``key`` and values by ``value``."""

    key: Rule
    value: Rule

    def check(self, value, name: str) -> None:
        if not isinstance(value, Mapping):
            raise ValueError(f"{name} must be an object, got {_shown(value)}")
        for key, item in value.items():
            self.key.check(key, f"a key of {name}")
            self.value.check(item, f"{name}.{key}")


def check(values: Mapping, rules: Mapping[str, Rule], prefix: str = "", required: tuple[str, ...] = ()) -> None:
    """Check every entry of ``values`` against its rule in ``rules``; names not in ``rules`` are refused.

    Raises
    ------
    ValueError
        Naming the first field (``prefix`` + its name) that breaks its rule.

    Examples
    --------
    >>> check({"blocks": 3, "colour": "blue"}, {"blocks": Integer(1, 16)}, "arguments.")
    Traceback (most recent call last):
    ValueError: arguments.colour is not a known field; known: blocks
    """
    for name in required:
        if name not in values:
            raise ValueError(f"{prefix}{name} is missing")
    for name, value in values.items():
        if name not in rules:
            raise ValueError(f"{prefix}{name[:40]} is not a known field; known: {', '.join(rules)}")
        rules[name].check(value, f"{prefix}{name}")
