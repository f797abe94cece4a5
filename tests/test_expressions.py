"""`${...}` arithmetic (the contract's "Additions to version 1"): numbers and vars with
+ - * / // % **, parentheses and unary minus; the type follows the operands; nothing else is
read, and results past 2**63 are refused before they are computed."""

from __future__ import annotations

import time

import pytest
from conftest import assert_located_error

import kerasspec

VARS = "vars: {hidden: 64, vocabulary_size: 10000, rate: 0.5}\n"


@pytest.mark.parametrize(
    "expression, value",
    [
        ("${1 / 255}", 1 / 255),
        ("${hidden * 2}", 128),
        ("${vocabulary_size + 1}", 10001),
        ("${(hidden + 1) // 2}", 32),
        ("${hidden % 5}", 4),
        ("${2 ** 10}", 1024),
        ("${2 ** -1}", 0.5),
        ("${-hidden}", -64),
        ("${rate * 2}", 1.0),
    ],
)
def test_a_whole_value_expression_keeps_its_type(write_spec, expression, value):
    spec = kerasspec.load(
        write_spec(
            f"name: m\n{VARS}input: {{shape: [3]}}\nlayers: [{{type: Dense, units: 1}}]\ndescription: x\ntrain: {{epochs: 1}}\ndata: {{seed: 0}}\ncompile: {{loss_weights: '{expression}'}}\n"
        )
    )
    result = spec.compile["loss_weights"]
    assert result == value and type(result) is type(value)


def test_expressions_in_layers_build_the_same_model(write_spec):
    text = (
        f"name: m\n{VARS}input: {{shape: ['${{hidden // 2}}']}}\nlayers:\n"
        "  - {type: Rescaling, scale: '${1 / 255}'}\n  - {type: Dense, units: '${hidden * 2}'}\n"
        "  - {type: Dense, name: 'out_${hidden + 1}', units: 1}\n"
    )
    model = kerasspec.load(write_spec(text)).build()
    assert model.input_shape == (None, 32)
    assert model.layers[0].scale == 1 / 255 and model.layers[1].units == 128
    assert model.layers[-1].name == "out_65"


@pytest.mark.parametrize(
    "expression, message",
    [
        ("${9**9**9}", "the expression '${9**9**9}' has a result beyond 2**63 in magnitude"),
        ("${1 / 0}", "the expression '${1 / 0}' divides by zero"),
        (
            "${max(1, 2)}",
            "the expression '${max(1, 2)}' has a call; only numbers, vars, + - * / // % ** and parentheses are read",
        ),
        (
            "${hidden > 2}",
            "the expression '${hidden > 2}' has a comparison; only numbers, vars, + - * / // % ** and parentheses are read",
        ),
        ("${'a' * 3}", "the expression '${'a' * 3}' 'a' is str, not a number"),
        ("${(-8) ** 0.5}", "the expression '${(-8) ** 0.5}' takes a fractional power of a negative number"),
        ("${2 ** 64}", "the expression '${2 ** 64}' has a result beyond 2**63 in magnitude"),
    ],
)
def test_bad_expressions_are_located(cli, write_spec, expression, message):
    text = (
        f'name: m\n{VARS}input: {{shape: [3]}}\nlayers:\n  - {{type: Dense, units: 1}}\ndescription: "{expression}"\n'
    )
    path = write_spec(text)
    started = time.perf_counter()
    result = cli("validate", path)
    assert time.perf_counter() - started < 5
    assert_located_error(result, path, 6, 14, message)


def test_an_unknown_var_in_an_expression_is_named(cli, write_spec):
    text = f'name: m\n{VARS}input: {{shape: [3]}}\nlayers:\n  - {{type: Dense, units: "${{hiden * 2}}"}}\n'
    path = write_spec(text)
    assert_located_error(cli("validate", path), path, 5, 26, "unknown var 'hiden'; did you mean 'hidden'?")
