#!/usr/bin/env bash
# Run tox's matrix (every supported Python with the oldest and the newest Sphinx, lint and
# docs; tox.ini's env_list) with the interpreters pyenv installed:
#
#   bash scripts/matrix.sh                      # every environment, one after the other
#   bash scripts/matrix.sh -e py313-sphinxlatest  # one of them; any tox arguments
#
# tox looks for python3.X on PATH, where pyenv's shims answer only for the version pyenv
# has selected, so each installed version's bin/ goes on PATH before them. An interpreter
# found nowhere skips its environments with a "could not find python interpreter" line
# (skip_missing_interpreters in tox.ini). Installs tox into .venv when it is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

for bin in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/*/bin; do
    if [ -d "$bin" ]; then
        PATH="$bin:$PATH"
    fi
done
export PATH

if [ ! -x .venv/bin/tox ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check 'tox>=4'
fi
exec .venv/bin/tox "$@"
