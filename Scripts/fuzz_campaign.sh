#!/bin/sh
# A longer config-mutation campaign than `swift test` runs (issue 15): every fuzz test with more values per
# field (1, 3, 4097 besides 0, -1, 1e12, 2.5, a string, null, deleted) and up to 64 elements of each array or
# sampled object. FUZZ_VERBOSE=1 prints each case before it runs, so a trap shows the case that caused it.
#   Scripts/fuzz_campaign.sh [extra swift test arguments]
set -e
cd "$(dirname "$0")/.."
FUZZ_CAMPAIGN=1 swift test --filter 'Fuzz' "$@"
