"""`train.distribute`: tf.distribute strategies through the CLI.

The device split happens when TensorFlow starts, so each configuration that needs one trains in
a `python -m kerasspec train` process of its own, with `KERASSPEC_CPU_DEVICES=2` (two logical CPU
devices); every process is bounded in time and killed if it outlives its bound.

Tolerance: the replicas sum their parts of each batch's gradient in another order than one
device sums the batch, so losses agree to float32 rounding, compounded over the epochs: relative
1e-4 (measured differences are about 1e-7). Every batch here splits evenly between two replicas:
Keras's fit averages the replicas' mean losses, so a last batch of odd size weighs its rows
otherwise than one device (the custom loop weighs each replica by its rows, exactly).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, RUN_FILES, assert_located_error, column_of

TOLERANCE = 1e-4
TIMEOUT = 240  # seconds for one training process (two cores shared with other work)

SPEC = """
name: small
input: {shape: [6]}
layers:
  - {type: Dense, units: 16, activation: relu, kernel_regularizer: l2}
  - {type: Dense, units: 1}
compile: {optimizer: adam, loss: mean_squared_error, metrics: [mae]}
data: {samples: 320}
train:
  epochs: 3
  batch_size: 32
  validation_split: 0.2
"""


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "KERASSPEC_CPU_DEVICES")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def start(spec: Path, out: Path, *args: str, **env: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "kerasspec", "train", str(spec), "--out", str(out), "--quiet", *args]
    return subprocess.Popen(command, env=environment(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(processes: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    """Every process's exit code and output, within TIMEOUT each; none is left running."""
    results = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
            results.append((process.returncode, stdout, stderr))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return results


def history(out: Path) -> dict:
    return json.loads((out / "history.json").read_text())


def train(spec: Path, out: Path, *args: str, **env: str) -> dict:
    [(code, stdout, stderr)] = finish([start(spec, out, *args, **env)])
    assert code == 0, stdout + stderr
    return history(out)


def assert_same_losses(got: dict, expected: dict) -> None:
    assert sorted(got) == sorted(expected)
    for key, values in expected.items():
        assert got[key] == pytest.approx(values, rel=TOLERANCE), key


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_mirrored_over_two_cpu_devices_trains_as_one_device(write_spec, tmp_path, loop):
    spec = write_spec(SPEC)
    one = train(spec, tmp_path / "one", "--loop", loop)
    two = train(
        spec, tmp_path / "two", "--loop", loop, "--set", "train.distribute.strategy=mirrored", KERASSPEC_CPU_DEVICES="2"
    )
    assert "distribute" not in one
    assert two["distribute"] == {"strategy": "mirrored", "replicas": 2, "workers": 1}
    assert_same_losses(two["history"], one["history"])
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == RUN_FILES


@pytest.mark.slow
def test_mirrored_on_listed_devices(write_spec, tmp_path):
    spec = write_spec(SPEC + "  distribute: {strategy: mirrored, devices: [CPU:1]}\n")
    trained = train(spec, tmp_path / "run", KERASSPEC_CPU_DEVICES="2")
    assert trained["distribute"] == {"strategy": "mirrored", "replicas": 1, "workers": 1}


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [("worker", "worker"), ("chief", "worker")], ids=["workers", "chief-and-worker"])
def test_two_workers_on_this_machine_train_as_one_process(write_spec, tmp_path, jobs):
    """With only `worker` tasks worker 0 is the chief; with a `chief` task, that task is."""
    spec = write_spec(SPEC)
    single = train(spec, tmp_path / "single", "--loop", "custom")
    tasks = [(job, jobs[:i].count(job)) for i, job in enumerate(jobs)]  # (type, index), the chief first
    cluster: dict[str, list[str]] = {}
    for (job, _), port in zip(tasks, free_ports(2)):
        cluster.setdefault(job, []).append(f"127.0.0.1:{port}")
    scratch = tmp_path / "tmp"  # where the other worker's temporary run directory goes
    scratch.mkdir()
    out = tmp_path / "cluster"
    processes = [
        start(
            spec,
            out,
            "--set",
            "train.distribute.strategy=multi_worker",
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": job, "index": index}}),
            TMPDIR=str(scratch),
        )
        for job, index in tasks
    ]
    (chief_code, chief_out, chief_err), (other_code, other_out, other_err) = finish(processes)
    assert (chief_code, other_code) == (0, 0), chief_err + other_err
    assert "custom loop" in chief_err and "keras-team/keras#20585" in chief_err  # the spec asked for fit
    assert f"run directory: {out}" in chief_out
    assert "run directory" not in other_out and "the chief writes the run directory" in other_err
    assert sorted(p.name for p in out.iterdir()) == RUN_FILES
    assert list(scratch.iterdir()) == []  # the other worker's files are gone
    recorded = history(out)
    assert recorded["distribute"] == {"strategy": "multi_worker", "replicas": 2, "workers": 2}
    assert_same_losses(recorded["history"], single["history"])


def test_unknown_strategy_is_located_with_did_you_mean(cli, write_spec):
    text = SPEC + "  distribute: {strategy: mirored}\n"
    spec = write_spec(text)
    result = cli("validate", spec)
    assert_located_error(
        result,
        spec,
        12,
        column_of(text, 12, "mirored"),
        "`train.distribute.strategy` must be one of none, mirrored, multi_worker, got 'mirored'; did you mean "
        "'mirrored'?",
    )


def test_the_schema_knows_the_strategies(cli):
    result = cli("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert '"multi_worker"' in json.dumps(schema)


@pytest.mark.parametrize(
    ("tf_config", "message"),
    [
        (None, "multi_worker takes its cluster from TF_CONFIG, which is not set"),
        ("{worker", "multi_worker takes its cluster from TF_CONFIG, which is not JSON"),
        (
            '{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 2}}',
            "multi_worker takes its cluster from TF_CONFIG, whose task worker:2 is not in its cluster "
            "(its worker job has 2 tasks)",
        ),
        (
            '{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "chief", "index": 0}}',
            "multi_worker takes its cluster from TF_CONFIG, whose task chief:0 is not in its cluster "
            "(its cluster has no chief job)",
        ),
        ('{"task": {"type": "worker", "index": 0}}', "multi_worker takes its cluster from TF_CONFIG, which has no"),
    ],
)
def test_bad_tf_config_is_located_at_the_strategy(cli, write_spec, tmp_path, monkeypatch, tf_config, message):
    text = SPEC + "  distribute: {strategy: multi_worker}\n"
    spec = write_spec(text)
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    result = cli("train", spec, "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert line.startswith(f"{spec}:12:{column_of(text, 12, 'multi_worker')}: error: {message}"), line
    assert not (tmp_path / "run").exists()


def test_devices_not_present_are_located(cli, write_spec, tmp_path):
    text = SPEC + "  distribute: {strategy: mirrored, devices: [CPU:0, GPU:7]}\n"
    spec = write_spec(text)
    result = cli("train", spec, "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2, result.stderr
    [line] = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert line.startswith(
        f"{spec}:12:{column_of(text, 12, 'GPU:7')}: error: device 'GPU:7' is not present on this machine"
    ), line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_bad_cpu_device_count_is_refused(cli, write_spec, tmp_path, monkeypatch):
    monkeypatch.setenv("KERASSPEC_CPU_DEVICES", "two")
    result = cli("train", write_spec(SPEC), "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2
    assert result.stderr.startswith("KERASSPEC_CPU_DEVICES: error: KERASSPEC_CPU_DEVICES='two' is not a count")


def test_strategy_none_is_one_device(cli, write_spec, tmp_path):
    spec = write_spec(SPEC + "  distribute: {strategy: mirrored}\n")
    args = ("--samples", "64", "--epochs", "1", "--quiet")
    result = cli("train", spec, "--out", tmp_path / "none", "--set", "train.distribute.strategy=none", *args)
    assert result.exit_code == 0, result.stderr
    plain = cli("train", write_spec(SPEC, "plain.yaml"), "--out", tmp_path / "plain", *args)
    assert plain.exit_code == 0, plain.stderr
    assert history(tmp_path / "none") == history(tmp_path / "plain")


CSV_SPEC = """
name: rows
inputs:
  a: {shape: [1]}
  b: {shape: [1]}
layers:
  - {type: Concatenate, name: both, inputs: [a, b]}
  - {type: Dense, name: out, units: 1}
outputs: out
compile: {optimizer: adam, loss: mean_squared_error}
train: {epochs: 2, batch_size: 8, validation_split: 0.25}
data: {file: rows.csv}
"""


def data_source(kind: str, root: Path) -> str:
    """A spec whose data is a file or folder the test writes next to it."""
    from test_data_folders import BINARY, TEXT_SPEC, image_spec, write_images, write_texts

    if kind == "images":
        write_images(root / "pets", ["cat", "dog"], per_class=10)
        return image_spec(BINARY)
    if kind == "text":
        write_texts(root / "reviews", per_class=10)
        return TEXT_SPEC
    if kind == "adapted":  # a layer that learns from the training rows (built twice, the session cleared)
        return SPEC.replace("layers:\n", "layers:\n  - {type: Normalization, adapt: true}\n")
    lines = ["a,b,out,w"] + [f"{i / 10},{(i * 7 % 10) / 10},{i % 3},{1 + i % 4}" for i in range(48)]
    (root / "rows.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if kind == "weighted":  # each row's loss weighed by its sample weight
        return CSV_SPEC.replace("data: {file: rows.csv}", "data: {file: rows.csv, sample_weight: w}")
    return CSV_SPEC


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["fit", "custom"])
@pytest.mark.parametrize("kind", ["file", "weighted", "images", "text", "adapted"])
def test_mirrored_reads_files_and_folders_as_one_device(write_spec, tmp_path, kind, loop):
    """Each replica takes its share of every batch, whatever the data's source (synthetic data
    for the adapted layer)."""
    spec = write_spec(data_source(kind, tmp_path))
    one = train(spec, tmp_path / "one", "--loop", loop)
    two = train(
        spec, tmp_path / "two", "--loop", loop, "--set", "train.distribute.strategy=mirrored", KERASSPEC_CPU_DEVICES="2"
    )
    assert two["distribute"]["replicas"] == 2
    assert_same_losses(two["history"], one["history"])


def test_a_users_step_is_refused_under_a_strategy(cli, write_spec, tmp_path):
    text = SPEC + "  step: steps:step\n  distribute: {strategy: mirrored}\n"
    spec = write_spec(text)
    result = cli("train", spec, "--allow-code", "--out", tmp_path / "run", "--quiet")
    assert_located_error(
        result,
        spec,
        12,
        3,
        "`train.step` is a one-device step: kerasspec does not run a user's step on the replicas of "
        "train.distribute (its loss would need scaling to each replica's share of the batch)",
    )


@pytest.mark.parametrize("strategy", [None, "multi_worker"])
def test_devices_for_another_strategy_than_mirrored_are_refused_by_validate(cli, write_spec, strategy):
    written = f"strategy: {strategy}, " if strategy else ""
    text = f"""
name: dv
input: {{shape: [3]}}
layers:
  - {{type: Dense, name: out, units: 1}}
compile: {{optimizer: sgd, loss: mean_squared_error}}
train:
  distribute: {{{written}devices: [CPU:0]}}
"""
    spec = write_spec(text)
    result = cli("validate", spec)
    assert_located_error(
        result,
        spec,
        7,
        column_of(text, 7, "devices"),
        "`train.distribute.devices` lists this machine's devices for the mirrored strategy, "
        f"not for {strategy or 'none'}",
    )
    assert "at: train.distribute.devices" in result.stderr
