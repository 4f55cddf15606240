"""The examples in the stream core's docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "iotad.baseline.export",
    "iotad.baseline.fit",
    "iotad.stream.core.alert",
    "iotad.stream.core.dead_letter",
    "iotad.stream.core.decide",
    "iotad.stream.core.decode",
    "iotad.stream.core.limits",
    "iotad.stream.core.validate",
    "iotad.stream.core.vectorise",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
