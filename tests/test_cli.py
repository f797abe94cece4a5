"""The `kerasspec` command as a user meets it: files in, lines out, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, RUN_FILES, SPECS, position

BUNDLED = sorted(SPECS.glob("*.yaml"))


def test_every_bundled_spec_validates(cli):
    result = cli("validate", *BUNDLED)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [f"{p}: ok" for p in BUNDLED]
    assert result.stderr == ""


def test_good_and_bad_files_in_one_call(cli, write_spec):
    bad = write_spec("name: x\nlayers:\n  - {type: Dens, units: 1}\n")
    good = SPECS / "my_example_model.yaml"
    result = cli("validate", good, bad)
    assert result.exit_code == 2
    assert result.stdout == f"{good}: ok\n"
    assert result.stderr.startswith(f"{bad}:3:12: error: unknown layer type 'Dens'; did you mean 'Dense'?")


def test_json_format(cli, write_spec):
    bad = write_spec("name: x\nlayers:\n  - {type: Dense, unit: 1}\n")
    result = cli("validate", "--format", "json", SPECS / "encoder.yaml", bad)
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document[0] == {"path": str(SPECS / "encoder.yaml"), "ok": True, "errors": []}
    assert document[1]["ok"] is False
    assert {"line": 3, "col": 19, "code": "unknown-argument"}.items() <= document[1]["errors"][1].items()


def test_set_on_the_command_line(cli):
    result = cli("validate", SPECS / "ticket_classifier.yaml", "--set", "layers.hidden.units=sixty")
    assert result.exit_code == 2  # Dense documents `units` as a positive integer: refused statically
    assert (
        "--set layers.hidden.units=sixty:1:21: error: Dense argument 'units' must be a whole number of at least 1 or a list, got 'sixty'"
        in result.stderr
    )
    result = cli("validate", SPECS / "ticket_classifier.yaml", "--set", "compile.loss.priorty=mse")
    assert result.exit_code == 2
    assert (
        "--set compile.loss.priorty=mse:1:14: error: 'priorty' in `compile.loss` is not an output of the model; did you mean 'priority'?"
        in result.stderr
    )


def test_internal_error_asks_for_a_report_without_traceback(cli, monkeypatch):
    import kerasspec.check

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(kerasspec.check, "load", broken)
    result = cli("validate", SPECS / "encoder.yaml")
    assert result.exit_code == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "kerasspec: internal error: RuntimeError: boom. This is a bug in kerasspec; please report it "
        "with the spec and the output of the same command with --debug."
    )
    result = cli("validate", "--debug", SPECS / "encoder.yaml")
    assert result.exit_code == 3 and "Traceback" in result.stderr and "RuntimeError: boom" in result.stderr


EVERY_COMMAND = {
    "validate": [],
    "summary": [],
    "plot": [],
    "train": [],
    "evaluate": ["--run", "runs/none"],
    "predict": ["--run", "runs/none"],
    "catalog": None,
}


@pytest.mark.parametrize(
    ("failure", "exit_code", "message"),
    [
        (RuntimeError("boom"), 3, "kerasspec: internal error: RuntimeError: boom. This is a bug in kerasspec; "),
        (KeyboardInterrupt(), 130, "kerasspec: interrupted"),
    ],
    ids=["internal-error", "interrupted"],
)
@pytest.mark.parametrize("command", sorted(EVERY_COMMAND))
def test_every_command_exits_by_the_one_table(cli, monkeypatch, command, failure, exit_code, message):
    """A crash exits 3 (so CI tells it from a finding, 1, or bad input, 2); Ctrl-C exits 130."""
    import kerasspec.catalog
    import kerasspec.commands

    def fail(*args, **kwargs):
        raise failure

    extra = EVERY_COMMAND[command]
    monkeypatch.setattr(
        *(kerasspec.catalog, "get_catalog") if extra is None else (kerasspec.commands, "load_spec"), fail
    )
    args = [command] if extra is None else [command, SPECS / "ticket_classifier.yaml", *extra]
    result = cli(*args)
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    assert result.stderr.startswith(message) and "Traceback" not in result.stderr


def test_exit_code_table():
    from kerasspec import errors

    table = {name: getattr(errors, name) for name in dir(errors) if name.startswith("EXIT_")}
    assert table == {
        "EXIT_OK": 0,
        "EXIT_DIFFERENCES": 1,
        "EXIT_BAD_INPUT": 2,
        "EXIT_INTERNAL": 3,
        "EXIT_INTERRUPTED": 130,
    }


def test_commands_are_callable_from_python(tmp_path):
    """What `validate` does, without the CLI: the errors of a spec, located, or none."""
    from kerasspec.commands import ModelOptions, check_spec

    assert check_spec(SPECS / "ticket_classifier.yaml", ModelOptions()) == []
    errors = check_spec(SPECS / "ticket_classifier.yaml", ModelOptions(overrides=["compile.loss.priorty=mse"]))
    assert [(e.code, *position(e)) for e in errors] == [(errors[0].code, 1, 14)]
    assert "'priorty' in `compile.loss` is not an output of the model" in errors[0].message


def test_unknown_format_is_bad_input(cli):
    result = cli("validate", "--format", "xml", SPECS / "encoder.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith("--format: error: unknown --format 'xml'; use text or json")


def test_version_and_help(cli):
    assert cli("--version").stdout.startswith("kerasspec 0.")
    result = cli("--help")
    assert result.exit_code == 0 and "validate" in result.stdout


SAFETY_MODULE = """
import pathlib
pathlib.Path("IMPORTED").write_text("module code ran")

class Layer:
    pass
"""


@pytest.mark.parametrize("allow_code", [False, True])
def test_code_references_import_nothing_when_validating(cli, tmp_path, monkeypatch, allow_code):
    (tmp_path / "sidefx.py").write_text(textwrap.dedent(SAFETY_MODULE))
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: x\nlayers:\n  - {type: 'sidefx:Layer'}\n  - {type: Lambda, function: 'sidefx:double'}\n  - {type: 'os:system'}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli("validate", *(["--allow-code"] if allow_code else []), spec)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no file touched
    assert "sidefx" not in sys.modules
    if allow_code:
        assert result.exit_code == 0, result.stderr
    else:
        assert result.exit_code == 2
        assert sum("refused without --allow-code" in line for line in result.stderr.splitlines()) == 3


def run_python(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


@pytest.mark.slow
def test_validate_schema_resolve_import_of_a_bad_file_and_help_never_import_tensorflow():
    code = textwrap.dedent(f"""
        import sys
        from typer.testing import CliRunner
        from kerasspec.cli import app
        runner = CliRunner()
        assert runner.invoke(app, ["--help"]).exit_code == 0
        assert runner.invoke(app, ["validate", "--help"]).exit_code == 0
        result = runner.invoke(app, ["validate", *{[str(p) for p in BUNDLED]!r}])
        assert result.exit_code == 0, result.stderr
        bad = runner.invoke(app, ["validate", "--set", "layers.0.type=Dens", {str(SPECS / "encoder.yaml")!r}])
        assert bad.exit_code == 2, bad.stderr
        assert runner.invoke(app, ["schema"]).exit_code == 0
        assert runner.invoke(app, ["resolve", {str(SPECS / "autoencoder.yaml")!r}]).exit_code == 0
        assert runner.invoke(app, ["import", "--help"]).exit_code == 0
        assert runner.invoke(app, ["import", {str(SPECS / "encoder.yaml")!r}]).exit_code == 2  # not a model file
        assert runner.invoke(app, ["export", "--help"]).exit_code == 0
        spec = {str(SPECS / "encoder.yaml")!r}
        assert runner.invoke(app, ["export", spec, "--run", "r", "-o", "m", "--format", "onxx"]).exit_code == 2
        heavy = sorted(
            m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "jax", "torch", "tf2onnx", "onnx")
        )
        print("HEAVY", heavy)
    """)
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout


@pytest.mark.slow
def test_installed_console_script_end_to_end():
    exe = os.path.join(os.path.dirname(sys.executable), "kerasspec")
    proc = subprocess.run([exe, "validate", *map(str, BUNDLED)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    bad = subprocess.run(
        [exe, "validate", str(ROOT / "tests" / "specs" / "bad_ticket.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    bad_path = ROOT / "tests" / "specs" / "bad_ticket.yaml"
    assert bad.stderr.splitlines()[0] == (
        f"{bad_path}:19:5: error: 'priorty' in `compile.loss` is not an output of the model; did you mean 'priority'?"
    )


@pytest.mark.slow
def test_summary_prints_no_tensorflow_noise_without_any_settings():
    exe = os.path.join(os.path.dirname(sys.executable), "kerasspec")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_", "ABSL"))}
    proc = subprocess.run(
        [exe, "summary", str(SPECS / "ticket_classifier.yaml")], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "Total params: 1,286,789" in proc.stdout


def _exit_probe(argv: list[str | Path], marker, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `main()` as the console script does, after TensorFlow counts as loaded (a stand-in
    module: what is tested is the way out, not TensorFlow), with an atexit handler and an
    object whose finaliser only runs in the interpreter's teardown."""
    code = textwrap.dedent(f"""
        import atexit, sys, types
        sys.modules["tensorflow"] = types.ModuleType("tensorflow")
        atexit.register(lambda: open({str(marker)!r}, "w").write("atexit ran"))

        class Teardown:
            def __del__(self):
                sys.__stderr__.write("TEARDOWN\\n")

        kept_until_teardown = Teardown()
        sys.argv = ["kerasspec", *{[str(a) for a in argv]!r}]
        from kerasspec.cli import main
        main()
    """)
    env = {k: v for k, v in os.environ.items() if k != "KERASSPEC_FULL_EXIT"}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


@pytest.mark.slow
def test_commands_that_loaded_tensorflow_exit_without_teardown(tmp_path):
    """The interpreter's teardown after TensorFlow costs over a second and is skipped; output,
    exit status and atexit handlers are kept, and KERASSPEC_FULL_EXIT=1 restores the usual exit."""
    good = _exit_probe(["validate", SPECS / "encoder.yaml"], tmp_path / "good")
    assert (good.returncode, good.stdout) == (0, f"{SPECS / 'encoder.yaml'}: ok\n")
    assert "TEARDOWN" not in good.stderr
    assert (tmp_path / "good").read_text() == "atexit ran"

    bad_path = ROOT / "tests" / "specs" / "bad_ticket.yaml"
    bad = _exit_probe(["validate", bad_path], tmp_path / "bad")
    assert bad.returncode == 2
    assert bad.stderr.startswith(f"{bad_path}:19:5: error: ") and "TEARDOWN" not in bad.stderr
    assert (tmp_path / "bad").read_text() == "atexit ran"

    usual = _exit_probe(["validate", SPECS / "encoder.yaml"], tmp_path / "usual", {"KERASSPEC_FULL_EXIT": "1"})
    assert usual.returncode == 0 and "TEARDOWN" in usual.stderr


@pytest.mark.slow
def test_train_then_evaluate_through_the_console_script(tmp_path):
    """The real process end to end: piped output gets one line per epoch, the table and the run
    directory; every run file is complete when the command returns; a bad model file after
    TensorFlow has loaded is still one located line and exit 2."""
    exe = os.path.join(os.path.dirname(sys.executable), "kerasspec")
    run = tmp_path / "run"
    proc = subprocess.run(
        [exe, "train", str(SPECS / "ticket_classifier.yaml"), "--epochs", "2", "--samples", "64", "--out", str(run)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert sum(line.startswith("Epoch ") for line in proc.stdout.splitlines()) == 2
    assert "final metrics" in proc.stdout and proc.stdout.rstrip().endswith(f"run directory: {run}")
    assert sorted(p.name for p in run.iterdir()) == RUN_FILES
    assert (run / "history.png").read_bytes().startswith(b"\x89PNG")
    assert json.loads((run / "history.json").read_text())["epochs"] == 2

    missing = tmp_path / "nope.keras"
    bad = subprocess.run(
        [exe, "evaluate", str(SPECS / "ticket_classifier.yaml"), "--model", str(missing)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert bad.returncode == 2
    assert bad.stderr == f"{missing}: error: no such model file\n"


@pytest.mark.slow
def test_a_reader_that_leaves_early_is_not_an_error(tmp_path):
    """`kerasspec validate specs/*.yaml | head -1`: the pipe closes before kerasspec writes; it
    stops quietly (exit 1, as click and Python do on EPIPE), with no 'internal error'."""
    exe = os.path.join(os.path.dirname(sys.executable), "kerasspec")
    proc = subprocess.Popen(
        [exe, "validate", *map(str, BUNDLED)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    proc.stdout.close()  # long before the interpreter has started
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert stderr == ""
