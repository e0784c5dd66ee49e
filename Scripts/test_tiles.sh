#!/usr/bin/env bash
# Runs TensorCore's kernel parity and gradient tests once per GEMM register tile this CPU can run: the 6x16 AVX2
# tile (portable x86-64-v3 build) always, the 12x32 AVX-512 tile (native build) where the CPU has AVX-512F.
# Each tile builds in its own scratch folder. Extra arguments go to `swift test` (default: the TensorCore suite).
#   Scripts/test_tiles.sh                      Scripts/test_tiles.sh --filter 'ConvTests|WinogradTests'
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@"); [ ${#args[@]} -eq 0 ] && args=(--filter TensorCoreTests)
echo "== 6x16 tile (AVX2 + FMA, TENSORCORE_MARCH=x86-64-v3)"
TENSORCORE_MARCH=x86-64-v3 swift test --scratch-path .build-test-v3 "${args[@]}"
if grep -qw avx512f /proc/cpuinfo; then
    echo "== 12x32 tile (AVX-512, -march=native)"
    swift test "${args[@]}"
else
    echo "== no AVX-512 on this CPU: the 12x32 tile is not tested here"
fi
