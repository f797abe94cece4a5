"""The package's import graph: layers one way, no cycles (contracts in pyproject.toml)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def lint_imports() -> subprocess.CompletedProcess[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this tree's kerasspec, whichever is installed
    return subprocess.run([exe, "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_imports_flow_down_and_never_in_a_cycle():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout
