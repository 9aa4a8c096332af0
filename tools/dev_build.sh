#!/usr/bin/env bash
# Fast development build: compiles reelrec._core into python/reelrec/ so that
# `PYTHONPATH=python pytest` runs against the working tree without reinstalling.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} \
  -DPython_EXECUTABLE="$(command -v "$PY")" >/dev/null
cmake --build build/dev -j "${JOBS:-2}"
