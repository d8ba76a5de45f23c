#!/usr/bin/env bash
# Installs Vernissage and everything it needs on a fresh Debian/Ubuntu machine (root or sudo).
# torch==2.13.0 comes first: an unpinned torch would pull several GB of CUDA wheels on a
# machine without a GPU. On a GPU machine install the CUDA build of torch first instead.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Mesa EGL for headless rendering, Xvfb for window tests on machines without a screen.
if command -v apt-get >/dev/null 2>&1; then
    missing=""
    for pkg in libegl1 libgl1-mesa-dri xvfb; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
    done
    if [ -n "$missing" ]; then
        $SUDO apt-get update -qq
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
fi
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e ".[test]"
python3 -c "import engine, torch, moderngl, av; print('vernissage installed; torch', torch.__version__)"
