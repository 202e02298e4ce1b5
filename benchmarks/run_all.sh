#!/usr/bin/env bash
# Every CPU benchmark, one after another. The GEMM-heavy ones run twice: first with the
# environment's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as they are, then with both unset
# (--blas-unset: for that benchmark command alone; tests and CI never unset them).
#
#   bash benchmarks/run_all.sh            # the figures (about 4 minutes on 2 cores)
#   bash benchmarks/run_all.sh --smoke    # smallest settings: checks that every script runs
#   bash benchmarks/run_all.sh --million  # also the 1,000,000-op point of chain_length.py
#
# Extra arguments after the mode are ignored; run a script by hand to change its flags.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python}
mode=${1:-}

if [ "$mode" = --smoke ]; then
    overhead="--rounds 1 --calls 1 --pause 0"
    chain="--lengths 1000,2000 --rounds 1 --ops-per-turn 1 --pause 0"
    lstm="--epochs 1 --rounds 1 --pause 0"
    digits="--epochs 2 --rounds 1 --pause 0"
    phases="--iters 2 --rounds 1 --pause 0"
    gemm="--rounds 1 --number 1 --pause 0"
    cnn="--steps 1 --rounds 1 --pause 0"
    gpu="--smoke --steps 1 --rounds 1 --warmup 1 --pause 0"
else
    overhead="" chain="" lstm="" digits="" phases="" gemm="" cnn="" gpu=""
    [ "$mode" = --million ] && chain="--million"
fi

run() {
    echo
    echo "=== python benchmarks/$*"
    # shellcheck disable=SC2086  # the flag lists are meant to split
    $py benchmarks/"$@"
}

# No GEMMs to speak of here (mlp_phases at its default width 8): the BLAS settings do not matter.
run overhead.py $overhead
run chain_length.py $chain
run mlp_phases.py $phases
# GEMM-heavy: with the BLAS variables as set, then unset.
for blas in "" --blas-unset; do
    run lstm.py $lstm $blas
    run mlp_digits.py $digits $blas
    run gemm_layouts.py $gemm $blas
    run cnn.py $cnn $blas
done
# gpu.py needs CuPy and a GPU; here it only checks itself on the CPU (--smoke).
[ "$mode" = --smoke ] && run gpu.py $gpu
exit 0
