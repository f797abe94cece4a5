"""The pre-commit hooks of .pre-commit-hooks.yaml, as a user's repository runs them: pre-commit
clones this repository at a commit, installs it (not editable, without the `keras` extra) in an
environment of its own, and runs the hook on the files of the user's `specs/` folders."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SPECS, TEST_SPECS

HOOKS_FILE = ROOT / ".pre-commit-hooks.yaml"
HOOKS = {hook["id"]: hook for hook in yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_manifest_is_one_pre_commit_accepts():
    from pre_commit.clientlib import load_manifest

    loaded = {hook["id"]: hook for hook in load_manifest(str(HOOKS_FILE))}
    assert sorted(loaded) == ["kerasspec-locked", "kerasspec-validate"]
    assert loaded["kerasspec-validate"]["entry"] == "kerasspec validate"
    assert loaded["kerasspec-locked"]["entry"] == "kerasspec validate --locked"
    assert {hook["language"] for hook in loaded.values()} == {"python"}


@pytest.mark.parametrize("hook", sorted(HOOKS))
@pytest.mark.parametrize(
    "path, checked",
    [
        ("specs/ticket.yaml", True),
        ("specs/ticket.yml", True),
        ("specs/vision/resnet.yaml", True),
        ("models/specs/ticket.yaml", True),
        ("services/a/specs/b/c.yml", True),
        (".github/workflows/ci.yaml", False),
        (".pre-commit-config.yaml", False),
        ("docker-compose.yml", False),
        ("myspecs/ticket.yaml", False),
        ("specs.yaml", False),
        ("specs/ticket.lock.json", False),
        ("specs/README.md", False),
    ],
)
def test_hooks_check_yaml_under_a_specs_folder_at_any_depth_only(hook, path, checked):
    """pre-commit matches `files` with re.search on the path from the repository's root."""
    assert bool(re.search(HOOKS[hook]["files"], path)) is checked


def test_the_locked_hook_installs_the_keras_and_tensorflow_of_the_keras_extra():
    """It builds models, so its environment gets Keras and TensorFlow, in the ranges the `keras`
    extra declares; the static hook installs nothing more than the package."""
    extra = PYPROJECT["project"]["optional-dependencies"]["keras"]
    wanted = [r for r in extra if r.split(">")[0].split("=")[0] in ("keras", "tensorflow")]
    assert HOOKS["kerasspec-locked"]["additional_dependencies"] == wanted
    assert HOOKS["kerasspec-locked"].get("require_serial") is True  # one process: TensorFlow imported once
    assert "additional_dependencies" not in HOOKS["kerasspec-validate"]


def test_readme_snippet_is_a_config_pre_commit_accepts(tmp_path):
    """README's `.pre-commit-config.yaml` names both hooks, and its `files:` override is used."""
    from pre_commit.clientlib import load_config

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (snippet,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "kerasspec-validate" in b]
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(snippet, encoding="utf-8")
    (repo,) = load_config(str(config))["repos"]
    assert [hook["id"] for hook in repo["hooks"]] == ["kerasspec-validate", "kerasspec-locked"]
    override = repo["hooks"][1]["files"]
    assert re.search(override, "models/ticket.yaml") and not re.search(override, "specs/ticket.yaml")


# --- the real thing: pre-commit installs this repository's HEAD and runs it -----------------


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()


def committed_head() -> str:
    """The commit pre-commit installs: this repository's HEAD (in CI, the commit under test; here,
    uncommitted changes are not in it)."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: pre-commit installs hooks from a commit of a git repository")
    return git(ROOT, "rev-parse", "HEAD")


def require_registry(tmp_path: Path) -> None:
    """pre-commit's pip fetches the base dependencies from the package registry: skip, saying so,
    only when pip cannot reach it."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--retries", "1", "--timeout", "20"]
        + ["-d", str(tmp_path / "probe"), "typer>=0.28,<0.29"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        pytest.skip(f"the package registry is unreachable, so pre-commit cannot install the hook: {last}")


def pre_commit_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT", "KERASSPEC_"))}
    env.pop("PYTHONPATH", None)  # the hook must run the copy pre-commit installed, not a tree on the path
    env["PRE_COMMIT_HOME"] = str(home)  # a cache of its own: the hook is installed from nothing
    return env


def pre_commit(repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=repo,
        env=pre_commit_env(home),
        capture_output=True,
        text=True,
        timeout=1800,
    )


def user_repository(tmp_path: Path, hook: str, rev: str, *, broken: bool = True) -> Path:
    """A repository like a user's: a good spec (and a broken one) under specs/ folders, a YAML
    file elsewhere that is no spec, and a .pre-commit-config.yaml naming this repository at `rev`."""
    repo = tmp_path / "user"
    (repo / "specs").mkdir(parents=True)
    (repo / "ci").mkdir()
    shutil.copy(SPECS / "ticket_classifier.yaml", repo / "specs" / "ticket.yaml")
    if broken:
        (repo / "services" / "specs").mkdir(parents=True)
        shutil.copy(TEST_SPECS / "bad_ticket.yaml", repo / "services" / "specs" / "bad.yaml")
    (repo / "ci" / "pipeline.yaml").write_text("stages: [build, test]\njob: {script: make}\n", encoding="utf-8")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {rev}\n    hooks:\n      - id: {hook}\n", encoding="utf-8"
    )
    git(repo, "init", "-q")
    git(repo, "add", ".")
    return repo


def site_packages(home: Path) -> list[Path]:
    """The site-packages of every environment pre-commit made under its home."""
    return sorted(home.glob("*/py_env-*/lib/python*/site-packages"))


def bin_of(packages: Path) -> Path:
    return packages.parent.parent.parent / "bin"


def seconds(start: float) -> str:
    return f"{time.perf_counter() - start:.1f} s"


@pytest.mark.slow
def test_validate_hook_installs_without_tensorflow_and_checks_only_specs(tmp_path):
    rev = committed_head()
    require_registry(tmp_path)
    home = tmp_path / "pre-commit-home"
    repo = user_repository(tmp_path, "kerasspec-validate", rev)

    start = time.perf_counter()
    installed = pre_commit(repo, home, "install-hooks")
    install_time = seconds(start)
    assert installed.returncode == 0, installed.stdout + installed.stderr + read_log(home)

    start = time.perf_counter()
    failed = pre_commit(repo, home, "run", "--all-files")
    run_time = seconds(start)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "kerasspec validate" in failed.stdout and "Failed" in failed.stdout
    assert (
        "services/specs/bad.yaml:19:5: error: 'priorty' in `compile.loss` is not an output of the model; "
        "did you mean 'priority'?" in failed.stdout.splitlines()
    )
    assert "specs/ticket.yaml: ok" in failed.stdout.splitlines()
    assert "ci/pipeline.yaml" not in failed.stdout and "Traceback" not in failed.stdout

    git(repo, "rm", "-q", "-f", "services/specs/bad.yaml")  # staged, never committed
    passed = pre_commit(repo, home, "run", "--all-files", "--verbose")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout and "specs/ticket.yaml: ok" in passed.stdout.splitlines()
    assert "ci/pipeline.yaml" not in passed.stdout  # not a spec: it would fail if it were checked

    # What pre-commit installed: this repository at `rev`, as a wheel (not editable), its
    # catalog snapshot included, and neither TensorFlow nor Keras.
    (packages,) = site_packages(home)
    names = {p.name.lower() for p in packages.iterdir()}
    assert {"kerasspec", "yaml", "typer", "rich"} <= names
    assert not {"tensorflow", "keras", "numpy", "tensorboard", "matplotlib", "pydot"} & names, sorted(names)
    assert (packages / "kerasspec" / "catalog_snapshot.json").is_file()
    assert not [p for p in packages.glob("*.pth") if str(ROOT) in p.read_text(encoding="utf-8")]
    kerasspec = bin_of(packages) / "kerasspec"
    env = pre_commit_env(home)
    catalog = subprocess.run([kerasspec, "catalog"], capture_output=True, text=True, env=env, timeout=60)
    assert catalog.returncode == 0 and "the snapshot shipped with kerasspec" in catalog.stdout.splitlines()[0]
    summary = subprocess.run(
        [kerasspec, "summary", repo / "specs" / "ticket.yaml"], capture_output=True, text=True, env=env, timeout=60
    )
    assert summary.returncode == 2
    assert summary.stderr == (
        "kerasspec summary needs Keras and TensorFlow, which are not installed here; "
        "install with: pip install 'kerasspec[keras]'\n"
    )

    start = time.perf_counter()
    alone = subprocess.run([kerasspec, "validate", repo / "specs" / "ticket.yaml"], env=env, capture_output=True)
    validate_time = seconds(start)
    assert alone.returncode == 0
    env_size = subprocess.run(["du", "-sh", packages.parent.parent.parent], capture_output=True, text=True).stdout
    print(
        f"\nkerasspec-validate: install-hooks {install_time}, environment {env_size.split()[0]}, "
        f"pre-commit run (2 files) {run_time}, kerasspec validate of one spec in the hook's environment {validate_time}"
    )


def read_log(home: Path) -> str:
    log = home / "pre-commit.log"
    return log.read_text(encoding="utf-8", errors="replace")[-4000:] if log.is_file() else ""


@pytest.mark.slow
def test_locked_hook_builds_and_compares_with_the_lock(tmp_path, cli):
    """The same way for kerasspec-locked, whose environment has Keras and TensorFlow: a spec that
    matches its lock passes, a change of parameters fails at the spec's entry."""
    rev = committed_head()
    require_registry(tmp_path)
    home = tmp_path / "pre-commit-home"
    repo = user_repository(tmp_path, "kerasspec-locked", rev, broken=False)
    spec = repo / "specs" / "ticket.yaml"
    locked = cli("lock", spec)
    assert locked.exit_code == 0, locked.stderr
    git(repo, "add", ".")

    installed = pre_commit(repo, home, "install-hooks")
    assert installed.returncode == 0, installed.stdout + installed.stderr + read_log(home)
    (packages,) = site_packages(home)
    assert {"kerasspec", "keras", "tensorflow"} <= {p.name.lower() for p in packages.iterdir()}

    passed = pre_commit(repo, home, "run", "--all-files")
    assert passed.returncode == 0, passed.stdout + passed.stderr

    spec.write_text(spec.read_text(encoding="utf-8").replace("units: 64", "units: 128"), encoding="utf-8")
    git(repo, "add", ".")
    drifted = pre_commit(repo, home, "run", "--all-files")
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert (
        "specs/ticket.yaml:15:5: error: layer 'hidden' has 2,572,928 parameters; ticket.lock.json says 1,286,464"
        in drifted.stdout.splitlines()
    )
    assert "ci/pipeline.yaml" not in drifted.stdout and "Traceback" not in drifted.stdout
