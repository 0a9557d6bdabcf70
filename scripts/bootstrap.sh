#!/usr/bin/env bash
# Installs everything the project needs into .venv from uv.lock, on a machine that starts bare.
#
# Lambda runs python3.12, so the virtual environment does too. The interpreter is looked for in
# $PAYREQ_PYTHON, then python3.12 on PATH, then pyenv's and the usual system locations; uv itself
# comes from PyPI into .cache/ so nothing but a python3.12 is needed beforehand.
set -euo pipefail

UV_VERSION="0.13.9"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

is_312() {
  [ -x "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null
}

find_python312() {
  local candidate
  local -a candidates=()
  [ -n "${PAYREQ_PYTHON:-}" ] && candidates+=("$PAYREQ_PYTHON")
  if command -v python3.12 >/dev/null 2>&1; then
    # A pyenv shim answers to python3.12 even when that version is not selected: ask pyenv instead.
    candidate="$(PYENV_VERSION="$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.|$)' | tail -n1)" \
      command -v python3.12 2>/dev/null || true)"
    [ -n "$candidate" ] && candidates+=("$candidate")
  fi
  if command -v pyenv >/dev/null 2>&1; then
    local pyenv_root
    pyenv_root="$(pyenv root)"
    for candidate in "$pyenv_root"/versions/3.12*/bin/python3.12; do candidates+=("$candidate"); done
  fi
  candidates+=(/usr/local/bin/python3.12 /usr/bin/python3.12 /opt/homebrew/bin/python3.12)
  for candidate in "${candidates[@]}"; do
    if is_312 "$candidate"; then
      # Resolve shims and venvs to the real interpreter: sam build needs its pip.
      "$candidate" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))'
      return 0
    fi
  done
  return 1
}

if ! python312="$(find_python312)"; then
  cat >&2 <<'MSG'
error: Payreq needs a Python 3.12 interpreter (the AWS Lambda runtime it deploys to), and none was found.
Install one, then run this again:
  - Debian/Ubuntu: apt-get install python3.12 python3.12-venv   (or use pyenv: pyenv install 3.12)
  - macOS:         brew install python@3.12
  - or point PAYREQ_PYTHON at a python3.12 executable.
MSG
  exit 1
fi

uv="$root/.cache/uv-$UV_VERSION/bin/uv"
if [ ! -x "$uv" ]; then
  echo "bootstrap: installing uv $UV_VERSION with $python312" >&2
  "$python312" -m venv "$root/.cache/uv-$UV_VERSION"
  "$root/.cache/uv-$UV_VERSION/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

# uv must never try to download an interpreter: only package registries are reachable everywhere we run.
export UV_PYTHON_DOWNLOADS=never
"$uv" sync --frozen --all-extras --python "$python312" --quiet
echo "bootstrap: .venv ready ($("$root/.venv/bin/python" --version), uv $UV_VERSION)" >&2
