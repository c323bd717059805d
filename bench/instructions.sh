#!/bin/bash
# The whole-process target of bench.py, counted in instructions (valgrind's callgrind) rather
# than CPU time: the count is the same from run to run, whatever else the machine is doing.
#
# Run: bash bench/instructions.sh [EXPORT]   (needs the Debian package valgrind; about a minute)
# Without EXPORT, bench/generate.py writes the 20,000-entity export into a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
definitions=${1:-}
if [ -z "$definitions" ]; then
    definitions=$(mktemp -d)/definitions.json
    "$python" bench/generate.py "$definitions"
fi
# compiled once beforehand: compiling a changed module would be counted in its run
"$python" -m compileall -q sphinxext_rabbit
# a fixed string hash: with a random one, dict layouts and so the count vary by about 1%
export PYTHONHASHSEED=0

instructions() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

empty=$(instructions "$python" -c pass)
json_only=$(instructions "$python" -c 'import json,sys; json.load(open(sys.argv[1]))' "$definitions")
command=$(instructions "$python" -m sphinxext_rabbit dot "$definitions" --vhost vhost-1)
echo "instructions: interpreter start-up $((empty / 1000000))M," \
     "json.load process $((json_only / 1000000))M," \
     "sphinxext-rabbit dot $((command / 1000000))M" \
     "-> $(awk "BEGIN { printf \"%.2f\", $command / $json_only }")x (target <= 2.0x)"
