"""Every private Keras API kerasspec uses is named in `kerasspec._keras`, and still exists in the
installed Keras: an upgrade that drops one fails here, not in a user's summary."""

from __future__ import annotations

import importlib
import re

import pytest
from conftest import ROOT

from kerasspec._keras import PRIVATE_ATTRIBUTES, PRIVATE_MODULES, import_keras

# kerasspec._catalog_gen imports its registries itself (it runs in its own process); what it
# reads is listed in PRIVATE_MODULES all the same.
OWNERS = {"_keras.py", "_catalog_gen.py"}


@pytest.fixture(scope="module")
def holders():
    """A real object for each private attribute: who is expected to carry it."""
    keras = import_keras()
    sequential = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    inputs = keras.Input((3,), name="x")
    dense = keras.layers.Dense(2, name="d")
    outputs = dense(inputs)
    functional = keras.Model(inputs, {"y": outputs})
    return {
        "_functional": sequential,
        "_operations": functional,
        "_nodes_by_depth": functional,
        "_outputs_struct": functional,
        "_inbound_nodes": dense,
        "_build_shapes_dict": dense,
        "_keras_history": outputs,
        "_get_metrics_result_or_logs": functional,
        "_symbolic_build": functional,
        "_maybe_symbolic_build": functional,
    }


@pytest.mark.parametrize("name", sorted(PRIVATE_ATTRIBUTES))
def test_private_attribute_still_exists(holders, name):
    assert name in holders, f"add a real object carrying {name} to the holders fixture"
    assert getattr(holders[name], name, None) is not None, f"Keras no longer has {name}: {PRIVATE_ATTRIBUTES[name]}"


@pytest.mark.parametrize("module_name", sorted(PRIVATE_MODULES))
def test_private_module_still_exists(module_name):
    import_keras()
    module = importlib.import_module(module_name)
    for name in PRIVATE_MODULES[module_name]:
        assert hasattr(module, name), f"{module_name}.{name} is gone from the installed Keras"


def test_only_the_owner_touches_private_keras():
    """No other module reaches into `keras.src` or a private attribute listed in the owner."""
    private = re.compile(r"keras\.src|" + "|".join(r"(?<!\w)" + re.escape(name) + r"\b" for name in PRIVATE_ATTRIBUTES))
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "kerasspec").rglob("*.py"))
        if path.name not in OWNERS
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if private.search(line)
    ]
    assert offenders == []
