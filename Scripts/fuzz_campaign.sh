#!/bin/sh
# A longer config-mutation campaign than `swift test` runs (issue 15): every fuzz test with more values per
# field (1, 3, 4097 besides 0, -1, 1e12, 2.5, a string, null, deleted) and up to 64 elements of each array or
# sampled object. Each case is appended to fuzz_campaign.log before it runs, so a trap names the case that
# caused it; virtual memory is capped at 8 GB so that an absurd allocation fails instead of exhausting the machine.
#   Scripts/fuzz_campaign.sh [extra swift test arguments]
set -e
cd "$(dirname "$0")/.."
swift build --build-tests
rm -f fuzz_campaign.log
ulimit -v 8388608
FUZZ_CAMPAIGN=1 FUZZ_VERBOSE="$PWD/fuzz_campaign.log" swift test --skip-build --filter 'Fuzz' "$@"
