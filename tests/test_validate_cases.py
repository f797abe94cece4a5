"""Paths through the real CLI that had no test: each static refusal at its exact line:col, the
`catalog` command, and every `predict` option error (on one small run trained per module)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_located_error, column_of, error_lines
from typer.testing import CliRunner

from kerasspec.cli import app

TWO_OUTPUTS = """name: x
inputs: {x: {shape: [3]}}
layers:
  - {type: Dense, name: a, units: 1}
  - {type: Dense, name: b, inputs: x, units: 1}
outputs: [a, b]
compile:
"""

# name: (spec text, line, column or a needle on that line, the message validate prints today)
CASES = {
    "unterminated-var": (
        "name: x\nvars: {u: 4}\nlayers:\n  - type: Dense\n    units: ${u\n",
        5,
        "${u",
        "unterminated '${' in '${u'",
    ),
    "unterminated-var-in-flow": (
        'name: x\nvars: {u: 4}\nlayers:\n  - {type: Dense, units: "${u"}\n',
        4,
        '"${u"',
        "unterminated '${' in '${u'",
    ),
    "var-name-starts-with-digit": (
        "name: x\nvars: {2u: 4}\nlayers:\n  - {type: Dense, units: 1}\n",
        2,
        "2u",
        "bad var name '2u': use letters, digits and '_'",
    ),
    "var-name-with-dash": (
        "name: x\nvars: {a-b: 4}\nlayers:\n  - {type: Dense, units: 1}\n",
        2,
        "a-b",
        "bad var name 'a-b': use letters, digits and '_'",
    ),
    "bad-var-reference": (
        'name: x\nvars: {u: 4}\nlayers:\n  - {type: Dense, units: "${1u}"}\n',
        4,
        '"${1u}"',
        "bad var reference '${1u}': a var name is letters, digits and '_'",
    ),
    "empty-var-reference": (
        'name: x\nvars: {u: 4}\nlayers:\n  - {type: Dense, units: "${}"}\n',
        4,
        '"${}"',
        "bad var reference '${}': a var name is letters, digits and '_'",
    ),
    "unknown-kind": ("name: x\nkind: foo\nlayers:\n  - {type: Dense, units: 1}\n", 2, "foo", "unknown kind 'foo'"),
    "kind-not-a-string": ("name: x\nkind: 3\nlayers:\n  - {type: Dense, units: 1}\n", 2, "3", "unknown kind 3"),
    "absolute-include": (
        "name: x\ninput: {shape: [3]}\nlayers:\n  - {spec: /abs.yaml}\n",
        4,
        "/abs.yaml",
        "`spec: /abs.yaml` is an absolute path",
    ),
    "non-yaml-include": (
        "name: x\ninput: {shape: [3]}\nlayers:\n  - {spec: x.txt}\n",
        4,
        "x.txt",
        "`spec: x.txt` does not name a .yaml or .yml file",
    ),
    "include-not-a-string": (
        "name: x\ninput: {shape: [3]}\nlayers:\n  - {spec: 3}\n",
        4,
        "3}",
        "`spec` is the path of a spec file, got 3",
    ),
    "reuse-of-an-output-index": (
        'name: x\nlayers:\n  - {type: Dense, name: a, units: 1}\n  - {reuse: "a[0]"}\n',
        4,
        '"a[0]"',
        "`reuse` names a layer, not one of its outputs: write 'a'",
    ),
    "reuse-of-an-input": (
        "name: x\ninputs: {x: {shape: [3]}}\nlayers:\n  - {type: Dense, name: a, units: 3}\n  - {reuse: x, name: b}\noutputs: b\n",
        5,
        "x,",
        "'x' is an input, not a layer; `reuse` names a layer entry above",
    ),
    "reuse-defined-later": (
        "name: x\nlayers:\n  - {reuse: a}\n  - {type: Dense, name: a, units: 1}\n",
        3,
        "a}",
        "'a' is defined later; `reuse` can only name a layer above it",
    ),
    "reuse-not-a-name": (
        "name: x\nlayers:\n  - {type: Dense, name: a, units: 1}\n  - {reuse: 3}\n",
        4,
        "3}",
        "a reference is the name of an input or layer, got 3",
    ),
    "reuse-with-type": (
        "name: x\nlayers:\n  - {type: Dense, name: a, units: 1}\n  - {reuse: a, type: Dense}\n",
        4,
        "reuse",
        "an entry has one of `type`, `reuse`, `spec` or `op`, not `type` and `reuse`",
    ),
    "reuse-with-spec": (
        "name: x\nlayers:\n  - {type: Dense, name: a, units: 1}\n  - {reuse: a, spec: b.yaml}\n",
        4,
        "spec",
        "an entry has one of `type`, `reuse`, `spec` or `op`, not `reuse` and `spec`",
    ),
    "empty-inputs": (
        "name: x\ninputs: {}\nlayers:\n  - {type: Dense, name: a, units: 1}\noutputs: a\n",
        2,
        "{}",
        "a functional spec needs `inputs`: a mapping of input names to {shape: [...]}",
    ),
    "inputs-as-a-list": (
        "name: x\ninputs: []\nlayers:\n  - {type: Dense, name: a, units: 1}\noutputs: a\n",
        2,
        "[]",
        "a functional spec needs `inputs`: a mapping of input names to {shape: [...]}",
    ),
    "empty-outputs": (
        "name: x\ninputs: {x: {shape: [3]}}\nlayers:\n  - {type: Dense, name: a, units: 1}\noutputs: []\n",
        5,
        "[]",
        "`outputs` is an empty list",
    ),
    "loss-list-too-short": (
        TWO_OUTPUTS + "  loss: [mse]\n",
        8,
        "[mse]",
        "`compile.loss` lists 1 values for 2 outputs (a, b)",
    ),
    "loss-list-too-long": (
        TWO_OUTPUTS + "  loss: [mse, mse, mae]\n",
        8,
        "[",
        "`compile.loss` lists 3 values for 2 outputs (a, b)",
    ),
    "loss-weights-list-length": (
        TWO_OUTPUTS + "  loss: mse\n  loss_weights: [1]\n",
        9,
        "[1]",
        "`compile.loss_weights` lists 1 values for 2 outputs (a, b)",
    ),
    "loss-weight-in-a-list-not-a-number": (
        TWO_OUTPUTS + "  loss: [mse, mse]\n  loss_weights: [1, heavy]\n",
        9,
        "heavy",
        "`compile.loss_weights[1]` must be a number, got 'heavy'",
    ),
    "loss-weight-by-name-not-a-number": (
        TWO_OUTPUTS + "  loss: mse\n  loss_weights: {a: 1, b: heavy}\n",
        9,
        "heavy",
        "`compile.loss_weights.b` must be a number, got 'heavy'",
    ),
    "loss-weight-bool": (
        "name: x\ninput: {shape: [3]}\nlayers:\n  - {type: Dense, units: 1}\ncompile:\n  loss: mse\n  loss_weights: true\n",
        7,
        "true",
        "`compile.loss_weights` must be a number, got true",
    ),
    "data-file-json": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ndata:\n  file: data.json\n",
        5,
        "data.json",
        "`data.file` must be a .npz, .csv or .tsv file name, got 'data.json'",
    ),
    "data-file-without-extension": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ndata:\n  file: data\n",
        5,
        "data",
        "`data.file` must be a .npz, .csv or .tsv file name, got 'data'",
    ),
    "data-file-not-a-string": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ndata:\n  file: 3\n",
        5,
        "3",
        "`data.file` must be a .npz, .csv or .tsv file name, got 3",
    ),
    "validation-split-one": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ntrain:\n  validation_split: 1\n",
        5,
        "1",
        "`train.validation_split` must be a fraction in [0, 1), got 1",
    ),
    "validation-split-above-one": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ntrain:\n  validation_split: 1.5\n",
        5,
        "1.5",
        "`train.validation_split` must be a fraction in [0, 1), got 1.5",
    ),
    "validation-split-negative": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ntrain:\n  validation_split: -0.1\n",
        5,
        "-0.1",
        "`train.validation_split` must be a fraction in [0, 1), got -0.1",
    ),
    "validation-split-text": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ntrain:\n  validation_split: half\n",
        5,
        "half",
        "`train.validation_split` must be a fraction in [0, 1), got 'half'",
    ),
    "unknown-train-loop": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ntrain:\n  loop: fitt\n",
        5,
        "fitt",
        "`train.loop` must be one of fit, custom, got 'fitt'; did you mean 'fit'?",
    ),
    "train-loop-not-a-string": (
        "name: x\nlayers:\n  - {type: Dense, units: 1}\ntrain:\n  loop: 3\n",
        5,
        "3",
        "`train.loop` must be one of fit, custom, got 3",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_static_refusal_is_located(cli, write_spec, case):
    text, line, where, message = CASES[case]
    path = write_spec(text)
    result = cli("validate", path)
    assert_located_error(result, path, line, column_of(text, line, where), message)
    assert len(error_lines(result)) == 1, result.stderr


HINTS = {
    "unknown-kind": "  hint: kind is sequential, functional or subclass (or left out to be inferred)",
    "absolute-include": "  hint: write it relative to this spec's directory",
    "unterminated-var": "  hint: write ${name}, or $${ for a literal '${'",
    "loss-list-too-short": "  hint: give one per output in order, or a mapping by output name",
    "unknown-train-loop": "  hint: loop: fit (model.fit) or custom (a GradientTape loop)",
    "empty-inputs": "  hint: inputs: {features: {shape: [10]}}",
}


@pytest.mark.parametrize("case", sorted(HINTS))
def test_hint_follows_the_error(cli, write_spec, case):
    result = cli("validate", write_spec(CASES[case][0]))
    lines = result.stderr.splitlines()
    assert lines[lines.index(error_lines(result)[0]) + 1] == HINTS[case]


def test_literal_dollar_brace_is_not_a_var(cli, write_spec):
    path = write_spec('name: x\nvars: {u: 4}\nlayers:\n  - {type: Dense, name: "d$${u}", units: 1}\n')
    result = cli("summary", "--json", "--input-shape", "3", path)
    assert result.exit_code == 0, result.stderr
    assert '"name": "d${u}"' in result.stdout


def test_reuse_of_the_entry_itself_is_refused(cli, write_spec):
    """Found by review: it passed validate, and --build crashed with a KeyError."""
    path = write_spec("name: x\nlayers:\n  - {type: Dense, name: a, units: 1}\n  - {reuse: b, name: b}\n")
    assert_located_error(
        cli("validate", path), path, 4, 13, "'b' is this entry itself; `reuse` names a layer entry above"
    )


def test_empty_outputs_mapping_is_refused_statically(cli, write_spec):
    """`outputs: []` was refused statically and `outputs: {}` only by the build."""
    path = write_spec(
        "name: x\ninputs: {x: {shape: [3]}}\nlayers:\n  - {type: Dense, name: a, units: 1}\noutputs: {}\n"
    )
    assert_located_error(cli("validate", path), path, 5, 10, "`outputs` is an empty mapping")


def test_catalog_command_prints_what_it_cached(cli):
    import keras
    import tensorflow

    from kerasspec.catalog import cache_path, get_catalog

    result = cli("catalog")
    assert result.exit_code == 0, result.stderr
    found = get_catalog()
    lines = result.stdout.splitlines()
    assert lines[0] == f"keras {keras.__version__}, tensorflow {tensorflow.__version__}: read from the installed Keras"
    assert lines[1:-1] == [f"  {kind}: {len(found.classes(kind))} classes" for kind in found.kinds]
    counts = {line.split(":")[0].strip(): int(line.split()[1]) for line in lines[1:-1]}
    assert list(counts) == [  # the cache is written with sorted keys
        "callbacks",
        "constraints",
        "initializers",
        "layers",
        "losses",
        "metrics",
        "optimizers",
        "regularizers",
        "schedules",
    ]
    assert counts["layers"] > 100 and counts["optimizers"] >= 10  # keras.layers has well over a hundred classes
    assert lines[-1] == f"cached at {cache_path()}" and cache_path().is_file()


TINY = """name: tiny
inputs: {x: {shape: [3]}}
layers:
  - {type: Dense, name: hidden, units: 4, activation: relu}
  - {type: Dense, name: score, units: 1}
outputs: score
compile: {optimizer: sgd, loss: mse}
data: {samples: 8}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run (8 samples, 1 epoch) that every predict test here starts from."""
    base = tmp_path_factory.mktemp("predict")
    spec = base / "tiny.yaml"
    spec.write_text(TINY)
    run = base / "run"
    result = CliRunner().invoke(app, ["train", str(spec), "--out", str(run), "--quiet"])
    assert result.exit_code == 0, result.stderr
    return spec, run


def test_predict_writes_every_output_and_layer_features(cli, trained, tmp_path):
    spec, run = trained
    out = tmp_path / "p.npz"
    result = cli("predict", spec, "--run", run, "--out", out, "--samples", "5")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"wrote {out}: score (5, 1)\n"
    features = tmp_path / "f.npz"
    result = cli("predict", spec, "--model", run / "model.keras", "--out", features, "--outputs", " hidden , score ")
    assert result.exit_code == 0, result.stderr
    with np.load(features) as archive:
        assert {k: archive[k].shape for k in archive.files} == {"hidden": (8, 4), "score": (8, 1)}
        assert (archive["hidden"] >= 0).all()  # relu


def test_predict_replaces_a_file_only_with_force(cli, trained, tmp_path):
    spec, run = trained
    out = tmp_path / "p.npz"
    out.write_bytes(b"keep me")
    refused = cli("predict", spec, "--run", run, "--out", out)
    assert refused.exit_code == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines()[0] == f"{out}: error: file exists; pass --force to overwrite it"
    assert out.read_bytes() == b"keep me"
    forced = cli("predict", spec, "--run", run, "--out", out, "--force")
    assert forced.exit_code == 0, forced.stderr
    with np.load(out) as archive:
        assert archive["score"].shape == (8, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]  # no temporary file left


@pytest.mark.parametrize(
    "args, first_line",
    [
        (
            ["--run", "{run}", "--outputs", "hiddn"],
            "--outputs: error: the model has no layer or op 'hiddn'; did you mean 'hidden'?",
        ),
        (["--run", "{run}", "--outputs", "hidden,nope"], "--outputs: error: the model has no layer or op 'nope'"),
        (
            ["--run", "{run}", "--out", "{tmp}/p.txt"],
            "{tmp}/p.txt: error: predictions are written as .npz; name the file *.npz",
        ),
        (
            ["--run", "{run}", "--out", "{tmp}/nodir/p.npz"],
            "{tmp}/nodir/p.npz: error: directory '{tmp}/nodir' does not exist",
        ),
        ([], "--model: error: give the trained model with --model RUN/model.keras or --run RUN"),
        (
            ["--run", "{run}", "--model", "{run}/model.keras"],
            "--model: error: give the trained model with --model RUN/model.keras or --run RUN",
        ),
        (["--run", "{tmp}/norun"], "{tmp}/norun/model.keras: error: no such model file"),
    ],
)
def test_predict_option_error(cli, trained, tmp_path, args, first_line):
    spec, run = trained
    args = [a.format(tmp=tmp_path, run=run) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "p.npz")]
    result = cli("predict", spec, *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0] == first_line.format(tmp=tmp_path, run=run)
    assert not (tmp_path / "p.npz").exists() and not (tmp_path / "p.txt").exists()


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--samples", "0", "Invalid value for '--samples': 0 is not in the range x>=1."),
        ("--batch-size", "0", "Invalid value for '--batch-size': 0 is not in the range x>=1."),
        ("--seed", "-1", "Invalid value for '--seed': -1 is not in the range 0<=x<=4294967295."),
    ],
)
def test_predict_number_option_out_of_range(cli, trained, tmp_path, option, value, message):
    spec, run = trained
    result = cli("predict", spec, "--run", run, "--out", tmp_path / "p.npz", option, value)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "p.npz").exists()


def test_predict_of_a_file_that_is_not_a_model(cli, trained, tmp_path):
    spec, _ = trained
    junk = tmp_path / "junk.keras"
    junk.write_text("not a zip")
    result = cli("predict", spec, "--model", junk, "--out", tmp_path / "p.npz")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{junk}: error: cannot load the model: ")


def test_predict_outputs_naming_no_layer(cli, trained, tmp_path):
    spec, run = trained
    result = cli("predict", spec, "--run", run, "--out", tmp_path / "p.npz", "--outputs", ",")
    assert result.exit_code == 2 and result.stderr.startswith("--outputs: error: "), result.stderr
