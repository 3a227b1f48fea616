#!/bin/sh
# tests/cli/faults.sh -- the quick fault-injection sweep (tests/faults/run.sh
# --quick: about a dozen failing allocations per scenario, short reads,
# ENOSPC and EIO at 5 offsets of a checkpoint write); `make faults` runs all.
cd "$(dirname "$0")/../.." || exit 2
exec sh tests/faults/run.sh --quick
