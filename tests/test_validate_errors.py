"""Every class of bad input gets exit 2 and a one-line error at the exact line:col."""

from __future__ import annotations

import pytest
from conftest import assert_located_error, column_of, error_lines

TICKET_HEADER = """name: t
inputs:
  title: {shape: [100]}
  tags: {shape: [10]}
"""

CASES: dict[str, tuple[str, int, int | str, str]] = {
    "yaml-syntax": (
        "name: x\nlayers: [\n  {type: Dense\n",
        4,
        1,
        "YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping)",
    ),
    "unknown-top-level-key": (
        "name: x\nlayer:\n  - {type: Dense, units: 1}\n",
        2,
        1,
        "unknown top-level key 'layer'; did you mean 'layers'?",
    ),
    "missing-name": ("layers:\n  - {type: Dense, units: 1}\n", 1, 1, "the spec has no `name`"),
    "bad-version": (
        "version: 2\nname: x\nlayers:\n  - {type: Dense, units: 1}\n",
        1,
        "2",
        "unsupported spec version 2; this kerasspec reads version 1",
    ),
    "name-with-slash": (
        "name: models/x\nlayers:\n  - {type: Dense, units: 1}\n",
        1,
        "models/x",
        "model name 'models/x' contains a path separator",
    ),
    "name-with-dotdot": (
        "name: ..\nlayers:\n  - {type: Dense, units: 1}\n",
        1,
        "..",
        "model name '..' contains '..' or starts with '.'",
    ),
    "unknown-var": (
        "name: x\nvars: {units: 4}\nlayers:\n  - type: Dense\n    units: ${unit}\n",
        5,
        "${unit}",
        "unknown var 'unit'; did you mean 'units'?",
    ),
    "undefined-name": (
        TICKET_HEADER + "layers:\n  - {type: Concatenate, name: c, inputs: [title, tagz]}\noutputs: c\n",
        6,
        "tagz",
        "unknown reference 'tagz'; did you mean 'tags'?",
    ),
    "forward-reference": (
        TICKET_HEADER
        + "layers:\n  - {type: Dense, name: a, inputs: b, units: 1}\n  - {type: Dense, name: b, inputs: title, units: 1}\noutputs: a\n",
        6,
        "b, units",
        "'b' is defined later (line 7); a layer can only use inputs and layers above it",
    ),
    "duplicate-name": (
        TICKET_HEADER
        + "layers:\n  - {type: Dense, name: a, inputs: title, units: 1}\n  - {type: Dense, name: a, units: 1}\noutputs: a\n",
        7,
        25,
        "duplicate name 'a' (first used at line 6)",
    ),
    "duplicate-of-input": (
        TICKET_HEADER + "layers:\n  - {type: Dense, name: tags, inputs: title, units: 1}\noutputs: tags\n",
        6,
        25,
        "duplicate name 'tags': an input is already called that (line 4)",
    ),
    "bad-index-syntax": (
        TICKET_HEADER
        + "layers:\n  - {type: Dense, name: a, inputs: title, units: 1}\n  - {type: Dense, name: b, inputs: 'a[x]', units: 1}\noutputs: b\n",
        7,
        "'a[x]'",
        "bad reference 'a[x]'",
    ),
    "bad-index-unclosed": (
        TICKET_HEADER
        + "layers:\n  - {type: Dense, name: a, inputs: title, units: 1}\n  - {type: Dense, name: b, inputs: 'a[9', units: 1}\noutputs: b\n",
        7,
        "'a[9'",
        "bad reference 'a[9'",
    ),
    "negative-index": (
        TICKET_HEADER
        + "layers:\n  - {type: Dense, name: a, inputs: title, units: 1}\n  - {type: Dense, name: b, inputs: 'a[-1]', units: 1}\noutputs: b\n",
        7,
        "'a[-1]'",
        "bad reference 'a[-1]'",
    ),
    "sequential-layer-inputs": (
        "name: s\nkind: sequential\nlayers:\n  - {type: Dense, units: 4}\n  - {type: Dense, inputs: x, units: 1}\n",
        5,
        "inputs",
        "layers[1] has `inputs`, but the spec is sequential",
    ),
    "several-inputs-first-layer": (
        TICKET_HEADER + "layers:\n  - {type: Dense, name: a, units: 1}\noutputs: a\n",
        6,
        5,
        "the first layer has no `inputs`, and the spec has 2 inputs (title, tags)",
    ),
    "output-names-nothing": (
        TICKET_HEADER + "layers:\n  - {type: Dense, name: score, inputs: title, units: 1}\noutputs: [score, scores]\n",
        7,
        "scores",
        "unknown reference 'scores'; did you mean 'score'?",
    ),
    "loss-keyed-by-non-output": (
        TICKET_HEADER
        + "layers:\n  - {type: Dense, name: priority, inputs: title, units: 1}\noutputs: [priority]\ncompile:\n  loss: {priorty: mse}\n",
        9,
        "priorty",
        "'priorty' in `compile.loss` is not an output of the model; did you mean 'priority'?",
    ),
    "unknown-layer-type": (
        "name: x\nlayers:\n  - {type: Dens, units: 1}\n",
        3,
        "Dens",
        "unknown layer type 'Dens'; did you mean 'Dense'?",
    ),
    "unknown-keyword": (
        "name: x\nlayers:\n  - {type: Dense, unit: 1}\n",
        3,
        "unit",
        "Dense has no argument 'unit'; did you mean 'units'?",
    ),
    "bool-for-number": (
        "name: x\nlayers:\n  - {type: Dense, units: true}\n",
        3,
        "true",
        "Dense argument 'units' is a number, not true",
    ),
    "missing-required": (
        "name: x\nlayers:\n  - {type: Dense, activation: relu}\n",
        3,
        5,
        "Dense needs argument 'units'",
    ),
    "unknown-activation": (
        "name: x\nlayers:\n  - {type: Dense, units: 2, activation: rleu}\n",
        3,
        "rleu",
        "unknown activation 'rleu'; did you mean 'relu'?",
    ),
    "nested-object-unknown": (
        "name: x\nlayers:\n  - type: Dense\n    units: 2\n    kernel_initializer: {type: HeNormall}\n",
        5,
        "HeNormall",
        "unknown initializer 'HeNormall'; did you mean 'HeNormal'?",
    ),
    "nested-object-bad-keyword": (
        "name: x\nlayers:\n  - type: Bidirectional\n    layer: {type: LSTM, unit: 4}\n",
        4,
        "unit",
        "LSTM has no argument 'unit'; did you mean 'units'?",
    ),
    "object-of-wrong-kind": (
        "name: x\nlayers:\n  - type: Dense\n    units: 2\n    kernel_regularizer: {type: HeNormal}\n",
        5,
        "HeNormal",
        "'HeNormal' is an initializer, not a regularizer",
    ),
    "lambda-without-allow-code": (
        "name: x\nlayers:\n  - {type: Lambda, function: x}\n",
        3,
        "Lambda",
        "Lambda runs Python code, so it is refused without --allow-code",
    ),
    "module-class-without-allow-code": (
        "name: x\nlayers:\n  - {type: 'os:system', units: 1}\n",
        3,
        "'os:system'",
        "layer type 'os:system' imports Python code, so it is refused without --allow-code",
    ),
    "code-loss-without-allow-code": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ncompile:\n  loss: mylosses:focal\n",
        5,
        "mylosses:focal",
        "loss 'mylosses:focal' imports Python code, so it is refused without --allow-code",
    ),
    "unknown-compile-key": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ncompile:\n  optimiser: adam\n",
        5,
        "optimiser",
        "unknown compile argument 'optimiser'; did you mean 'optimizer'?",
    ),
    "unknown-optimizer": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ncompile:\n  optimizer: adamm\n",
        5,
        "adamm",
        "unknown optimizer 'adamm'; did you mean 'adam'?",
    ),
    "unknown-train-key": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ntrain:\n  epoch: 3\n",
        5,
        "epoch",
        "unknown train key 'epoch'; did you mean 'epochs'?",
    ),
    "unknown-callback": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ntrain:\n  callbacks: [{type: EarlyStoping}]\n",
        5,
        "EarlyStoping",
        "unknown callback 'EarlyStoping'; did you mean 'EarlyStopping'?",
    ),
    "data-target-non-output": (
        "name: x\nlayers:\n  - {type: Dense, name: out, units: 1}\ndata:\n  targets: {outt: {distribution: binary}}\n",
        5,
        "outt",
        "'outt' in `data.targets` is not an output of the model; did you mean 'out'?",
    ),
    "bad-distribution": (
        "name: x\nlayers:\n  - {type: Dense, name: out, units: 1}\ndata:\n  targets: {out: {distribution: unifrom}}\n",
        5,
        "unifrom",
        "`data.targets.out.distribution` must be one of binary, integers, uniform, normal, onehot, constant, choice, got 'unifrom'; did you mean 'uniform'?",
    ),
    "bad-dtype": (
        "name: x\ninputs: {a: {shape: [3], dtype: flaot32}}\nlayers:\n  - {type: Dense, name: o, units: 1}\noutputs: o\n",
        2,
        "flaot32",
        "unknown dtype 'flaot32'; did you mean 'float32'?",
    ),
    "bad-shape": (
        "name: x\ninput: {shape: [3, -1]}\nlayers:\n  - {type: Dense, units: 1}\n",
        2,
        "-1",
        "a dimension is a positive whole number or null, got -1",
    ),
    "reuse-with-arguments": (
        "name: x\nlayers:\n  - {type: Dense, name: a, units: 1}\n  - {reuse: a, units: 3}\n",
        4,
        "units",
        "'units' is not allowed here: a `reuse` entry reuses a layer as it is, so it takes no constructor arguments",
    ),
    "reuse-unknown": (
        "name: x\nlayers:\n  - {type: Dense, name: shared, units: 1}\n  - {reuse: shraed}\n",
        4,
        "shraed",
        "unknown layer 'shraed' in `reuse`; did you mean 'shared'?",
    ),
    "entry-without-type": ("name: x\nlayers:\n  - {units: 3}\n", 3, 5, "layers[0] has no `type`"),
    "functional-without-outputs": (
        "name: x\ninputs: {a: {shape: [3]}}\nlayers:\n  - {type: Dense, name: o, units: 1}\n",
        1,
        1,
        "a functional spec needs `outputs`",
    ),
    "top-level-list": (
        "- name: x\n- layers: []\n",
        1,
        1,
        "the top level of a spec must be a mapping (name:, layers:, ...), found a list",
    ),
    "negative-data-seed": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ndata:\n  seed: -1\n",
        5,
        "-1",
        "`data.seed` must be a whole number from 0 to 4294967295, got -1",
    ),
    "text-train-seed": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ntrain:\n  seed: abc\n",
        5,
        "abc",
        "`train.seed` must be a whole number from 0 to 4294967295, got 'abc'",
    ),
    "duplicate-yaml-key": (
        "name: x\nname: y\nlayers:\n  - {type: Dense, units: 1}\n",
        2,
        1,
        "duplicate key 'name' (first written at line 1)",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_located(case, cli, write_spec):
    text, line, where, message = CASES[case]
    path = write_spec(text)
    result = cli("validate", path)
    assert_located_error(result, path, line, column_of(text, line, where), message)
    assert result.stdout == ""


def test_every_error_of_a_file_is_reported_in_source_order(cli, write_spec):
    path = write_spec(
        "name: x\nlayers:\n  - {type: Dens, units: 1}\n  - {type: Dense, unit: 1}\ncompile: {optimizer: adamm}\n"
    )
    result = cli("validate", path)
    lines = error_lines(result)
    assert [line.split(": error:")[0] for line in lines] == [
        f"{path}:3:12",
        f"{path}:4:5",
        f"{path}:4:19",
        f"{path}:5:22",
    ]


def test_hint_line_follows_its_error(cli, write_spec):
    path = write_spec(
        "name: x\nlayers:\n  - {type: Dense, units: 1}\n  - {type: Dense, units: 1, name: a}\n  - {type: Dense, units: 1, name: a}\n"
    )
    result = cli("validate", path)
    lines = result.stderr.splitlines()
    index = lines.index(f"{path}:5:35: error: duplicate name 'a' (first used at line 4)")
    assert lines[index + 1] == "  hint: every layer name must be unique in a spec"


def test_include_loop_names_the_chain(cli, write_spec):
    write_spec(
        "name: a\ninputs: {x: {shape: [3]}}\nlayers:\n  - {spec: b.yaml, name: inner, inputs: x}\noutputs: inner\n",
        "a.yaml",
    )
    b = write_spec("name: b\ninput: {shape: [3]}\nlayers:\n  - {spec: a.yaml, name: back}\n", "b.yaml")
    result = cli("validate", b.parent / "a.yaml")
    assert_located_error(result, b, 4, 12, "include loop: a.yaml -> b.yaml -> a.yaml")


def test_self_include_is_a_loop(cli, write_spec):
    path = write_spec("name: a\ninput: {shape: [3]}\nlayers:\n  - {spec: spec.yaml}\n")
    assert_located_error(cli("validate", path), path, 4, 12, "include loop: spec.yaml -> spec.yaml")


def test_missing_include(cli, write_spec):
    path = write_spec("name: a\ninput: {shape: [3]}\nlayers:\n  - {spec: nowhere.yaml}\n")
    result = cli("validate", path)
    assert_located_error(
        result, path, 4, 12, f"included spec 'nowhere.yaml' not found (looked for {path.parent / 'nowhere.yaml'})"
    )


def test_errors_inside_an_included_spec_point_into_that_file(cli, write_spec):
    inner_text = "name: inner\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, unitz: 2}\n"
    inner = write_spec(inner_text, "inner.yaml")
    outer = write_spec(
        "name: outer\ninputs: {x: {shape: [3]}}\nlayers:\n  - {spec: inner.yaml, name: i, inputs: x}\noutputs: i\n",
        "outer.yaml",
    )
    assert_located_error(
        cli("validate", outer),
        inner,
        4,
        column_of(inner_text, 4, "unitz"),
        "Dense has no argument 'unitz'; did you mean 'units'?",
    )


def test_included_spec_arity_is_checked(cli, write_spec):
    write_spec("name: inner\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: 2}\n", "inner.yaml")
    outer_text = "name: outer\ninputs: {x: {shape: [3]}, y: {shape: [3]}}\nlayers:\n  - {spec: inner.yaml, name: i, inputs: [x, y]}\noutputs: i\n"
    outer = write_spec(outer_text, "outer.yaml")
    where = column_of(outer_text, 4, "[x, y]")
    assert_located_error(cli("validate", outer), outer, 4, where, "the included spec 'inner' takes 1 input, given 2")


def test_missing_file_and_directory(cli, tmp_path):
    result = cli("validate", tmp_path / "nope.yaml", tmp_path)
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope.yaml'}: error: no such file" in result.stderr
    assert f"{tmp_path}: error: is a directory, not a spec file" in result.stderr


def test_class_that_needs_arguments_named_bare(cli, write_spec):
    text = "name: x\nlayers:\n  - {type: Dense, units: 2, kernel_initializer: Constant}\ntrain:\n  callbacks: [CSVLogger]\n"
    path = write_spec(text)
    result = cli("validate", path)
    assert_located_error(
        result,
        path,
        5,
        column_of(text, 5, "CSVLogger"),
        "callback 'CSVLogger' cannot be made from its name alone (it needs filename)",
    )
    assert "  hint: write it as an object: {type: CSVLogger, ...}" in result.stderr.splitlines()


def test_a_misspelt_key_is_one_error_not_three(cli, write_spec):
    path = write_spec("name: x\ninputs: {a: {shape: [3]}}\nlayer:\n  - {type: Dense, name: o, units: 1}\noutput: o\n")
    result = cli("validate", path)
    assert error_lines(result) == [
        f"{path}:3:1: error: unknown top-level key 'layer'; did you mean 'layers'?",
        f"{path}:5:1: error: unknown top-level key 'output'; did you mean 'outputs'?",
    ]
