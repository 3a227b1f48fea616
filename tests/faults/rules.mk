# tests/faults/rules.mk -- fault injection (tests/faults/run.sh, with the
# LD_PRELOAD shim tests/faults/faultshim.c). `make check` runs a quick
# sweep through tests/cli/faults.sh; `make faults` runs all of it: every
# allocation of each scenario, ENOSPC and EIO at 13 offsets (a few minutes).
faults: all
	@sh tests/faults/run.sh
