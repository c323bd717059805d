#!/bin/bash
# Issue 12's two speed targets of bench.py, counted in instructions (valgrind's callgrind)
# rather than CPU time: the count is the same from run to run, whatever else the machine is
# doing.
#   whole process: the `dot` command against a process that only json.loads the file;
#   in process: bench.py's pipeline (load + resolve + DOT of one vhost) against json.load,
#   each run once more after a first, warming run (as bench.py times them warm): the
#   difference of two processes that differ only by that last run.
#
# Run: bash bench/instructions.sh [EXPORT]   (needs the Debian package valgrind; a minute or two)
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

# in process: the same imports and warming run in each, then json.load, or the pipeline again
warm='import json, sys; sys.path.insert(0, "."); from bench.bench import pipeline; pipeline(sys.argv[1])'
warmed=$(instructions "$python" -c "$warm" "$definitions")
json_warm=$(instructions "$python" -c "$warm; json.load(open(sys.argv[1]))" "$definitions")
pipeline_warm=$(instructions "$python" -c "$warm; pipeline(sys.argv[1])" "$definitions")
json_in=$((json_warm - warmed))
pipeline_in=$((pipeline_warm - warmed))
echo "instructions in process: json.load $((json_in / 1000000))M," \
     "load+resolve+DOT $((pipeline_in / 1000000))M" \
     "-> $(awk "BEGIN { printf \"%.2f\", $pipeline_in / $json_in }")x (target <= 2.5x)"
