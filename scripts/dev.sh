#!/usr/bin/env bash
# One entry point for set-up: creates .venv (once, or again when pyproject.toml changes),
# installs kerasspec with its pinned dependencies and its extras (keras: Keras, TensorFlow and
# what builds, draws and trains; test; export: the ONNX converter and the runtimes the export
# tests load artifacts with), then runs what was asked:
#   bash scripts/dev.sh demo   -> the main job on a bundled spec
#   bash scripts/dev.sh test   -> the test suite (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP="$VENV/.kerasspec-installed"

need_install() {
    [ ! -x "$VENV/bin/python" ] && return 0
    [ ! -f "$STAMP" ] && return 0
    [ "$(cat "$STAMP")" != "$(sha256sum pyproject.toml | cut -d' ' -f1)" ] && return 0
    return 1
}

if need_install; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "kerasspec needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)" >&2
        exit 2
    }
    echo "setting up $VENV (first run takes about a minute)..." >&2
    "$PYTHON" -m venv "$VENV"
    LOG="$VENV/install.log"
    if ! { "$VENV/bin/python" -m pip install --upgrade pip && "$VENV/bin/python" -m pip install -e ".[keras,test,export]"; } >"$LOG" 2>&1; then
        tail -n 30 "$LOG" >&2
        echo "installing kerasspec's dependencies failed; the full log is $LOG" >&2
        exit 1
    fi
    # Read what the installed Keras accepts once now, so the first `validate` is fast.
    "$VENV/bin/kerasspec" catalog --refresh >/dev/null
    sha256sum pyproject.toml | cut -d' ' -f1 > "$STAMP"
fi

# Graphviz's `dot` draws PNG/SVG/PDF plots. Install it where it is missing and we can
# (root with apt-get, as on the project's machines); elsewhere say how.
if ! command -v dot >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Graphviz (for PNG/SVG/PDF plots)..." >&2
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends graphviz; } >"$VENV/graphviz-install.log" 2>&1; then
            echo "warning: installing Graphviz failed (see $VENV/graphviz-install.log); plot can still write .dot and Mermaid" >&2
        fi
    else
        echo "note: Graphviz's dot is missing; install the 'graphviz' package for PNG/SVG/PDF plots" >&2
    fi
fi

case "${1:-}" in
    demo)
        shift
        set -x
        "$VENV/bin/kerasspec" validate specs/*.yaml
        "$VENV/bin/kerasspec" summary specs/ticket_classifier.yaml
        "$VENV/bin/kerasspec" train specs/ticket_classifier.yaml --epochs 1
        ;;
    test)
        shift
        # The habits of the tree first (seconds), then the tests.
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        "$VENV/bin/mypy"
        "$VENV/bin/lint-imports" --no-cache
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: bash scripts/dev.sh demo|test [pytest args]" >&2
        exit 2
        ;;
esac
