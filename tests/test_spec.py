"""The spec model through the Python API: vars, --set, kinds, references, includes."""

from __future__ import annotations

import pytest
from conftest import SPECS

import kerasspec
from kerasspec.errors import SpecErrors


def load_text(write_spec, text, overrides=(), **kwargs):
    return kerasspec.load(write_spec(text), overrides, **kwargs)


def messages(excinfo) -> list[str]:
    return [e.message for e in excinfo.value.errors]


def test_whole_value_var_keeps_its_type(write_spec):
    spec = load_text(
        write_spec,
        "name: m\nvars: {units: 64, rate: 0.5, shape: [3, 4]}\ninput: {shape: '${shape}'}\nlayers:\n  - type: Dense\n    units: ${units}\n  - type: Dropout\n    rate: ${rate}\n",
    )
    assert spec.layers[0].kwargs["units"] == 64 and type(spec.layers[0].kwargs["units"]) is int
    assert spec.layers[1].kwargs["rate"] == 0.5
    assert spec.input.shape == (3, 4)


def test_var_inside_text_is_replaced_as_text(write_spec):
    spec = load_text(
        write_spec,
        "name: m\nvars: {size: 64, flag: true}\ndescription: 'a ${size}-unit model, biased ${flag}, costs $${x}'\nlayers:\n  - {type: Dense, units: 1}\n",
    )
    assert spec.description == "a 64-unit model, biased true, costs ${x}"


def test_vars_may_use_earlier_vars_but_not_later_ones(write_spec):
    spec = load_text(
        write_spec, "name: m\nvars:\n  base: 32\n  double: ${base}\nlayers:\n  - type: Dense\n    units: ${double}\n"
    )
    assert spec.layers[0].kwargs["units"] == 32
    with pytest.raises(SpecErrors, match="var 'b' is defined later") as info:
        load_text(write_spec, "name: m\nvars:\n  a: ${b}\n  b: 1\nlayers:\n  - {type: Dense, units: 1}\n")
    assert messages(info) == ["var 'b' is defined later in `vars`; a var can only use the ones above it"]


def test_set_overrides_apply_before_interpolation(write_spec):
    text = "name: m\nvars: {units: 64}\nlayers:\n  - type: Dense\n    name: hidden\n    units: ${units}\ntrain: {epochs: 1}\n"
    spec = load_text(write_spec, text, ["vars.units=128", "train.epochs=3", "layers.hidden.activation=relu"])
    assert spec.layers[0].kwargs == {"units": 128, "activation": "relu"}
    assert spec.train["epochs"] == 3


def test_set_value_is_checked_like_the_file(write_spec):
    with pytest.raises(SpecErrors, match="unknown activation 'rleu'") as info:
        load_text(write_spec, "name: m\nlayers:\n  - {type: Dense, name: h, units: 2}\n", ["layers.h.activation=rleu"])
    error = info.value.errors[0]
    assert error.render().startswith(
        "--set layers.h.activation=rleu:1:21: error: unknown activation 'rleu'; did you mean 'relu'?"
    )


def test_kind_inference(write_spec):
    assert load_text(write_spec, "name: m\nlayers:\n  - {type: Dense, units: 1}\n").kind == "sequential"
    functional = load_text(
        write_spec, "name: m\ninputs: {x: {shape: [3]}}\nlayers:\n  - {type: Dense, name: o, units: 1}\noutputs: o\n"
    )
    assert functional.kind == "functional"
    assert functional.layers[0].inputs is None  # called on the only input


def test_input_shorthand_and_null_dims(write_spec):
    spec = load_text(
        write_spec,
        "name: m\ninputs:\n  seq: {shape: [null, 8], dtype: int32}\n  flat: [4]\nlayers:\n  - {type: Dense, name: o, inputs: flat, units: 1}\noutputs: {score: o}\n",
    )
    assert spec.inputs["seq"].shape == (None, 8) and spec.inputs["seq"].dtype == "int32"
    assert spec.inputs["flat"].shape == (4,)
    assert spec.output_names == ["score"] and spec.outputs_form == "dict"


def test_bundled_seq2seq_references():
    spec = kerasspec.load(SPECS / "seq2seq.yaml")
    decoder = spec.layers[1]
    assert isinstance(decoder.inputs, dict) and isinstance(decoder.inputs["initial_state"], list)
    assert [str(r) for r in decoder.inputs["initial_state"]] == ["enc[1]", "enc[2]"]
    assert str(decoder.inputs["sequences"]) == "decoder_inputs"
    assert str(spec.layers[2].inputs) == "decoder_lstm[0]"


def test_bundled_nested_and_shared_specs():
    auto = kerasspec.load(SPECS / "autoencoder.yaml")
    assert [e.spec and e.spec.name for e in auto.layers] == ["encoder", "decoder"]
    siamese = kerasspec.load(SPECS / "siamese_similarity.yaml")
    assert [e.reuse.name for e in siamese.layers if e.reuse] == ["embed", "encode"]


def test_bundled_ticket_classifier_matches_the_seed():
    spec = kerasspec.load(SPECS / "ticket_classifier.yaml")
    assert {n: d.shape for n, d in spec.inputs.items()} == {"title": (10000,), "text_body": (10000,), "tags": (100,)}
    assert spec.output_names == ["priority", "department"]
    assert spec.compile["optimizer"] == "rmsprop"


def test_allow_code_lets_code_references_through_statically(write_spec):
    text = "name: m\nlayers:\n  - {type: 'mylayers:Gate', units: 3}\n  - {type: Lambda, function: 'mylayers:double'}\n"
    with pytest.raises(SpecErrors, match="refused without --allow-code"):
        load_text(write_spec, text)
    spec = load_text(write_spec, text, allow_code=True)
    assert spec.layers[0].type == "mylayers:Gate"


def test_subclass_spec_needs_allow_code(write_spec):
    text = "name: m\nkind: subclass\nclass: ticket_model:TicketModel\nargs: {num_departments: 4}\ninputs:\n  title: {shape: [10]}\n"
    with pytest.raises(SpecErrors, match="refused without --allow-code") as info:
        load_text(write_spec, text)
    assert messages(info) == [
        "class 'ticket_model:TicketModel' imports Python code, so it is refused without --allow-code"
    ]
    assert load_text(write_spec, text, allow_code=True).class_ref == "ticket_model:TicketModel"


def test_yaml_merge_keys_share_layer_settings(write_spec):
    spec = load_text(
        write_spec,
        "name: m\nlayers:\n  - &dense {type: Dense, units: 8, activation: relu}\n  - {<<: *dense, units: 2}\n",
    )
    assert spec.layers[1].kwargs == {"units": 2, "activation": "relu"}
