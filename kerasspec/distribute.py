"""`train.distribute`: training on several devices or machines through TensorFlow's own strategies.

`mirrored` is `tf.distribute.MirroredStrategy` over this machine's devices (the ones listed, else
every GPU, else every logical CPU device); `multi_worker` is `MultiWorkerMirroredStrategy` over
the cluster in `TF_CONFIG`, every worker running the same command. `none` (or no key) is one
device, as without the key.

What can be judged without TensorFlow (`plan`: the strategy, `TF_CONFIG`, `KERASSPEC_CPU_DEVICES`)
is checked before it loads; the strategy is created before TensorFlow's first op
(`_keras.import_keras(before_first_op=...)`), which collective ops need. The model is built and
compiled inside the strategy's scope (`scope`), where the custom loop finds the strategy too.

In a multi-worker run every worker trains and saves alike (saving reads synchronised variables,
a collective every worker must join), but only the chief (the `chief` task, else worker 0)
writes the run directory; the others write into a temporary directory removed at the end.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._keras import CPU_DEVICES
from .errors import Mark, SpecError
from .loader import PList, PMap

if TYPE_CHECKING:
    from .spec import Spec

TF_CONFIG_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\''
)


@dataclass(frozen=True)
class Plan:
    """How a run is distributed, as far as it is known before TensorFlow starts."""

    strategy: str  # none | mirrored | multi_worker
    mark: Mark | None  # where the strategy was written (errors found later point there)
    devices: tuple[tuple[str, Mark], ...] = ()  # mirrored: the devices listed, each where it was written
    workers: int = 1
    task: str = "worker:0"  # this process's task in TF_CONFIG
    chief: bool = True  # writes the run directory

    @property
    def distributed(self) -> bool:
        return self.strategy != "none"


def cpu_devices() -> int | None:
    """`KERASSPEC_CPU_DEVICES`, checked: a positive count, or None when unset."""
    text = os.environ.get(CPU_DEVICES, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise SpecError(
            None,
            f"{CPU_DEVICES}={text!r} is not a count of devices",
            hint=f"give a positive whole number, e.g. {CPU_DEVICES}=2, or unset it",
            source=CPU_DEVICES,
            code="bad-environment",
        )
    return int(text)


def plan(spec: Spec) -> Plan:
    """`train.distribute` as written, with `TF_CONFIG` read for `multi_worker`; no TensorFlow."""
    cpu_devices()
    written = spec.train.get("distribute")
    if not isinstance(written, PMap):
        return Plan("none", None)
    strategy = str(written.get("strategy") or "none")
    mark = written.value_mark("strategy") if "strategy" in written else spec.train.key_mark("distribute")
    devices = written.get("devices")
    listed = tuple((str(d), devices.value_mark(i)) for i, d in enumerate(devices)) if isinstance(devices, PList) else ()
    if listed and strategy != "mirrored":
        raise SpecError(
            written.key_mark("devices"),
            f"`train.distribute.devices` lists this machine's devices for the mirrored strategy, not for {strategy}",
            hint="use `strategy: mirrored`, or remove `devices`",
            code="bad-distribute",
        )
    for key in ("step", "test_step"):
        if strategy != "none" and spec.train.get(key) is not None:
            raise SpecError(
                spec.train.key_mark(key),
                f"`train.{key}` is a one-device step: kerasspec does not run a user's step on the replicas of "
                f"train.distribute (its loss would need scaling to each replica's share of the batch)",
                hint="train it with `--set train.distribute.strategy=none`, or leave the step out",
                code="bad-distribute",
            )
    if strategy == "multi_worker":
        return _multi_worker(mark)
    return Plan(strategy, mark, listed)


def _multi_worker(mark: Mark) -> Plan:
    """The cluster and this worker's task from `TF_CONFIG`, as MultiWorkerMirroredStrategy reads it."""
    text = os.environ.get("TF_CONFIG")

    def bad(problem: str, hint: str = f"set it, e.g. {TF_CONFIG_EXAMPLE}") -> SpecError:
        return SpecError(mark, f"multi_worker takes its cluster from TF_CONFIG, {problem}", hint=hint, code="tf-config")

    if not text or not text.strip():
        raise bad("which is not set")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad(f"which is not JSON ({exc.msg} at character {exc.pos})") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    jobs = {"chief", "worker"}
    if (
        not isinstance(cluster, dict)
        or not cluster
        or not all(isinstance(v, list) and all(isinstance(a, str) for a in v) for v in cluster.values())
    ):
        raise bad("which has no `cluster` mapping each job to its list of host:port addresses")
    if set(cluster) - jobs - {"evaluator"}:
        others = ", ".join(sorted(set(cluster) - jobs - {"evaluator"}))
        raise bad(
            f"whose cluster has jobs ({others}) that MultiWorkerMirroredStrategy does not run",
            "list only `worker` (and `chief`) tasks",
        )
    if not isinstance(task, dict) or not isinstance(task.get("type"), str) or not isinstance(task.get("index"), int):
        raise bad('which names no `task` ({"type": "worker", "index": N}) for this process')
    kind, index = task["type"], task["index"]
    if kind not in cluster or not 0 <= index < len(cluster[kind]):
        size = len(cluster.get(kind, []))
        where = f"its {kind} job has {size} task{'s' * (size != 1)}" if size else f"its cluster has no {kind} job"
        raise bad(
            f"whose task {kind}:{index} is not in its cluster ({where})",
            f"every worker runs the same command with its own task index, 0 to {max(size, 1) - 1}",
        )
    workers = sum(len(cluster.get(job, [])) for job in jobs)
    chief = kind == "chief" or (kind == "worker" and index == 0 and not cluster.get("chief"))
    return Plan("multi_worker", mark, (), workers, f"{kind}:{index}", chief)


def loop_for(plan: Plan, spec: Spec, loop: str | None, warn: Callable[[str], None]) -> str | None:
    """The loop a run trains with: `--loop`/`train.loop`, but multi_worker trains with the custom loop."""
    if plan.strategy != "multi_worker":
        return loop
    if (loop or spec.train.loop) == "fit":
        warn(
            f"note: {spec.name}: multi_worker trains with kerasspec's custom loop (Keras 3.15's fit fails under "
            "MultiWorkerMirroredStrategy, keras-team/keras#20585)"
        )
    return "custom"


# --- with TensorFlow ------------------------------------------------------------------------------


@dataclass
class Active:
    plan: Plan
    strategy: Any  # the tf.distribute strategy
    entered: Any = None  # its scope, while a run is inside it


_started: Active | None = None  # the strategy created when TensorFlow started (multi_worker needs that)
_current: Active | None = None  # the one a training run is inside


def start(plan: Plan) -> Any:
    """Keras, with TensorFlow started for `plan`: the strategy created before its first op."""
    from ._keras import import_keras, keras_started

    global _started
    if not plan.distributed:
        return import_keras()
    if _started is not None and _started.plan == plan:
        return import_keras()
    if keras_started():  # in a process that ran TensorFlow already (tests calling the CLI in-process)
        if plan.strategy == "multi_worker":
            raise SpecError(
                plan.mark,
                "multi_worker must be set up when TensorFlow starts, and this process started it already",
                hint="run `kerasspec train` in a process of its own",
                code="bad-distribute",
            )
        import tensorflow as tf

        _started = Active(plan, _strategy(tf, plan))
        return import_keras()

    def create(tf: Any) -> None:
        global _started
        _started = Active(plan, _strategy(tf, plan))

    return import_keras(before_first_op=create)


def _strategy(tf: Any, plan: Plan) -> Any:
    if plan.strategy == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.MirroredStrategy(devices=_devices(tf, plan))


def _devices(tf: Any, plan: Plan) -> list[str]:
    """The listed devices, each present; else every GPU, else every logical CPU device."""
    present = tf.config.list_logical_devices()
    if not plan.devices:
        gpus = [d.name for d in present if d.device_type == "GPU"]
        return gpus or [d.name for d in present if d.device_type == "CPU"]
    names: dict[tuple[str, int] | None, str] = {_canonical(tf, d.name): d.name for d in present}
    chosen = []
    for written, mark in plan.devices:
        found = names.get(_canonical(tf, written))
        if found is None:
            listed = ", ".join(f"{kind}:{index}" for kind, index in filter(None, names))
            raise SpecError(
                mark,
                f"device '{written}' is not present on this machine (it has {listed})",
                hint=f"list present devices, or leave `devices` out for all of them; {CPU_DEVICES}=N splits the CPU "
                "into N devices",
                code="no-device",
            )
        chosen.append(found)
    return chosen


def _canonical(tf: Any, name: str) -> tuple[str, int] | None:
    """(type, index) of a device name: `GPU:0`, `/gpu:0`, `/job:localhost/replica:0/task:0/device:CPU:1`."""
    try:
        spec = tf.DeviceSpec.from_string(name if name.startswith("/") else "/device:" + name)
    except (ValueError, TypeError):
        return None
    if spec.device_type is None:
        return None
    return str(spec.device_type).upper(), int(spec.device_index or 0)


@contextmanager
def scope(plan: Plan) -> Iterator[None]:
    """Inside the strategy's scope, for the build, compile and training of one run (nothing for `none`)."""
    global _current
    if not plan.distributed:
        yield
        return
    assert _started is not None and _started.plan == plan, "start(plan) comes first"
    _current = _started
    _enter(_current)
    try:
        yield
    finally:
        _leave(_current)
        _current = None


def _enter(active: Active) -> None:
    active.entered = active.strategy.scope()
    active.entered.__enter__()


def _leave(active: Active) -> None:
    entered, active.entered = active.entered, None
    try:
        entered.__exit__(None, None, None)
    except IndexError:  # a clear_session inside (a build that failed) dropped the graph holding the scope
        pass


def clear_session(keras: Any) -> None:
    """`keras.utils.clear_session()`, which resets the graph a strategy's scope is kept in: inside
    a run's scope, the scope is left and entered again around it."""
    if _current is None:
        keras.utils.clear_session()
        return
    _leave(_current)
    keras.utils.clear_session()
    _enter(_current)


def record() -> dict[str, Any] | None:
    """How the current run is distributed, for its history.json; None on one device."""
    if _current is None:
        return None
    return {
        "strategy": _current.plan.strategy,
        "replicas": int(_current.strategy.num_replicas_in_sync),
        "workers": _current.plan.workers,
    }


def is_chief() -> bool:
    return _current is None or _current.plan.chief


@contextmanager
def worker_directory() -> Iterator[Path]:
    """Where a worker that is not the chief writes what the chief writes into the run directory:
    a temporary directory, removed when the run ends."""
    with tempfile.TemporaryDirectory(prefix="kerasspec-worker-") as directory:
        yield Path(directory)


def barrier() -> None:
    """Wait for every worker (a collective all of them join); nothing on one machine."""
    if _current is None or _current.plan.strategy != "multi_worker":
        return
    import tensorflow as tf

    strategy = _current.strategy

    @tf.function
    def together() -> Any:
        def one() -> Any:
            return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, tf.constant(1.0))

        return strategy.run(one)

    together()
