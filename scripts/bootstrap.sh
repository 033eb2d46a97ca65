#!/usr/bin/env bash
# Make (once) and link the project's virtual environment, then install kgcomplete into it.
#
# The venv lives in a cache folder keyed by the dependency list and the Python version, so
# every clone (and every CI run on this machine) reuses it until the dependencies change.
# Prints the path of the venv's python on stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
CACHE="${KGC_CACHE_DIR:-$HOME/.cache/kgcomplete}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
  echo "kgcomplete needs Python 3.10 or newer ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 1; }
KEY="$( { sed -n '/^dependencies = \[/,/^\]/p; /^\[project.optional-dependencies\]/,/^\[project.scripts\]/p' \
          "$ROOT/pyproject.toml"; "$PYTHON" -V; uname -m; } | sha256sum | cut -c1-16)"
VENV="$CACHE/venvs/$KEY"
if [ ! -f "$VENV/.complete" ]; then
  echo "bootstrap: creating $VENV (first run only; PyTorch is large)" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >&2
  # Install the dependencies (not the project) so the cached venv never pins a clone.
  DEPS="$("$VENV/bin/python" - "$ROOT/pyproject.toml" <<'PY'
import sys
try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib
p = tomllib.load(open(sys.argv[1], "rb"))["project"]
deps = p["dependencies"] + [d for extra in p.get("optional-dependencies", {}).values() for d in extra]
print("\n".join(deps))
PY
)"
  printf '%s\n' "$DEPS" > "$VENV/requirements.in"
  "$VENV/bin/python" -m pip install -q -r "$VENV/requirements.in" >&2
  touch "$VENV/.complete"
fi
# The project itself: an editable install is quick and points at this clone.
"$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$ROOT" >&2 2>/dev/null \
  || "$VENV/bin/python" -m pip install -q --no-deps -e "$ROOT" >&2
ln -sfn "$VENV" "$ROOT/.venv"
echo "$VENV/bin/python"
