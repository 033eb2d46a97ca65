#!/usr/bin/env bash
# Make this clone's own virtual environment, .venv, with the locked dependencies and an
# editable install of this clone (never of another one).
#
# uv (from PyPI, installed once into ~/.cache/kgcomplete/uv) keeps one package cache per
# machine and hard-links its files into each .venv: the first set-up downloads PyTorch,
# every later one (another clone, a new lock) takes seconds. The venv is rebuilt only when
# requirements.lock changes. Prints the path of the venv's python on stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
CACHE="${KGC_CACHE_DIR:-$HOME/.cache/kgcomplete}"
export UV_CACHE_DIR="${UV_CACHE_DIR:-$CACHE/uv-cache}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
  echo "kgcomplete needs Python 3.10 or newer ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 1; }

UV_HOME="$CACHE/uv"
UV="$UV_HOME/bin/uv"
if [ ! -x "$UV" ]; then
  echo "bootstrap: installing uv into $UV_HOME (once)" >&2
  rm -rf "$UV_HOME"
  "$PYTHON" -m venv "$UV_HOME"
  "$UV_HOME/bin/python" -m pip install -q "uv>=0.5,<1" >&2
fi

VENV="$ROOT/.venv"
LOCK="$ROOT/requirements.lock"
STAMP="$VENV/.kgc-lock"
# the stamp changes with the lock, the interpreter and how the venv is made (bump SYNC)
SYNC="compile-bytecode"
WANT="$( { cat "$LOCK"; "$PYTHON" -V; echo "$SYNC"; } | sha256sum | cut -c1-16)"
[ -L "$VENV" ] && rm "$VENV"   # earlier bootstraps linked a shared venv here
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "bootstrap: syncing $VENV with requirements.lock (the first time on a machine downloads PyTorch)" >&2
  [ -x "$VENV/bin/python" ] || "$UV" venv -q --python "$PYTHON" "$VENV" >&2
  # bytecode compiled once here: where PYTHONDONTWRITEBYTECODE is set, every process
  # would otherwise compile torch's and sympy's sources again on import
  "$UV" pip sync -q --compile-bytecode --python "$VENV/bin/python" "$LOCK" >&2
  "$UV" pip install -q --python "$VENV/bin/python" --no-deps -e "$ROOT" >&2
  echo "$WANT" > "$STAMP"
fi
echo "$VENV/bin/python"
