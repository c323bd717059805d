#!/usr/bin/env bash
# Set up sphinxext-rabbit on a fresh Debian machine and build sample_docs with -W.
#
#   bash scripts/setup.sh
#
# Installs Graphviz and Python's venv/pip, and for the tests Chromium, RabbitMQ, openssl
# and TeX, from Debian (as root, or through sudo), creates .venv in the repository if it
# is missing, installs the package in editable mode with its test and dot extras, and
# builds sample_docs/ as HTML. Safe to run again.
# PYTHON=python3.12 picks the interpreter the venv is created with.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python="${PYTHON:-python3}"

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "setup: not root and no sudo: cannot install the Debian packages" >&2
    exit 1
fi

# chromium: the tests load a built page in a headless browser to prove no name runs as script;
# chromium-driver: selenium drives it (tests/browser.py): clicks, screenshots, computed styles
# rabbitmq-server: the tests read a live management API (scripts/rabbitmq.sh runs a private
#   node; in a container apt's own start of the system service is refused, which is fine)
# openssl: the tests make a self-signed certificate for a TLS server
# latexmk, texlive-latex-recommended/-extra, texlive-fonts-recommended, tex-gyre: what
#   Sphinx's LaTeX builder needs for a PDF (as its documentation lists); poppler-utils:
#   pdftotext, with which the tests read the sample PDF's tables back
packages=(graphviz python3-venv python3-pip chromium chromium-driver rabbitmq-server openssl
          latexmk texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended
          tex-gyre poppler-utils)
echo "setup: installing Debian packages: ${packages[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $python"
    "$python" -m venv .venv
fi

echo "setup: installing sphinxext-rabbit (editable) with its test and dot extras"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,dot]'

# npm installs mermaid-cli; Debian's npm only where none is installed (a Node.js from
# NodeSource brings its own npm and conflicts with Debian's package)
if ! command -v npm >/dev/null 2>&1; then
    echo "setup: installing Debian's npm"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends npm >/dev/null
fi
# mermaid-cli renders the Mermaid output in the tests, driving Debian's chromium
# (tests/mermaid-puppeteer.json) rather than a browser of its own
echo "setup: installing mermaid-cli into .mermaid/"
PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix .mermaid --no-audit --no-fund --silent \
    @mermaid-js/mermaid-cli@11

echo "setup: building sample_docs"
.venv/bin/sphinx-build -W --keep-going -q -b html sample_docs sample_docs/_build/html
# which entities of the brokers the pages describe (the rabbitmq domain's coverage report)
.venv/bin/sphinx-build -W --keep-going -q -b rabbitmq-coverage sample_docs \
    sample_docs/_build/coverage

echo
echo "setup: done. The sample documentation is at"
echo "    $root/sample_docs/_build/html/index.html"
echo "and its coverage report at"
echo "    $root/sample_docs/_build/coverage/rabbitmq-coverage.txt"
