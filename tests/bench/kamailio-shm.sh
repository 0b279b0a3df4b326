#!/bin/bash
# kamailio-shm.sh - runs Kamailio with the shared memory size changed to
# $BENCH_KAM_SHM_MB (tests/bench/run.sh sets it; unset: unchanged). Used as
# KAMAILIO=... for tests/lib/kamailio.sh, which always passes -m 256.
# exec keeps the PID, so kamailio_start's KAM_PID is Kamailio itself.
args=()
while (($#)); do
	if [[ $1 == -m && -n ${BENCH_KAM_SHM_MB:-} && $# -ge 2 ]]; then
		args+=(-m "$BENCH_KAM_SHM_MB")
		shift 2
	else
		args+=("$1")
		shift
	fi
done
exec "${BENCH_KAMAILIO_REAL:-kamailio}" "${args[@]}"
