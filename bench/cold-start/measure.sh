#!/usr/bin/env bash
# The cold-start measurements of docs/engine.md "Cold start", in the order they were taken.
# One process per line, so every line starts with a fresh V8; 1-rank lines pinned to core 0.
# Usage: bench/cold-start/measure.sh OUT_DIR [phase...]   (phases: pool flags prewarm; default all)
set -u
out=${1:?out dir}; shift
phases=${*:-pool flags prewarm}
mkdir -p "$out"
cs=dist/bench/src/cold-start.js
cnn=bench/cold-start/cnn-mnist.json
lstm=bench/cold-start/lstm-brown-char.json
run() { local name=$1; shift; echo "== $name $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/log"; "$@" >"$out/$name.jsonl" 2>>"$out/log"; cat "$out/$name.jsonl" | tee -a "$out/log"; }
for phase in $phases; do
  case $phase in
    pool)
      run cnn-1r taskset -c 0 node $cs --spec $cnn --ranks 1 --seconds 60 --mode warm --rounds 2
      run lstm-1r taskset -c 0 node $cs --spec $lstm --ranks 1 --seconds 60 --mode warm --rounds 2
      run cnn-2r node $cs --spec $cnn --ranks 2 --seconds 60 --mode warm --rounds 1
      run lstm-2r node $cs --spec $lstm --ranks 2 --seconds 60 --mode warm --rounds 1
      ;;
    flags)
      for flags in "" "--always-sparkplug" "--no-wasm-dynamic-tiering" "--interrupt-budget=16384" "--maglev" ""; do
        name=flags-cnn-1r$(echo "$flags" | tr -d ' =')
        [ -e "$out/$name.jsonl" ] && name=$name-again
        run "$name" taskset -c 0 node $flags $cs --spec $cnn --ranks 1 --seconds 60 --mode fresh --rounds 1
      done
      ;;
    prewarm)
      run prewarm-cnn-1r taskset -c 0 node $cs --spec $cnn --ranks 1 --seconds 60 --mode fresh --prewarm-steps 100 --rounds 1
      run prewarm-by-cnn-lstm-1r taskset -c 0 node $cs --spec $lstm --ranks 1 --seconds 60 --mode fresh --prewarm-steps 300 --prewarm-spec $cnn --rounds 1
      ;;
  esac
done
