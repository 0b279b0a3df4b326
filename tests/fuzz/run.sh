#!/usr/bin/env bash
# tests/fuzz/run.sh MODE [TARGET...] - runs the libFuzzer targets built by
# make fuzz-bins (FLAVOUR=fuzz) in build/fuzz/, one after the other.
#
#   fuzz   each target for FUZZ_SECONDS (300) on its seed corpus
#          (tests/fuzz/corpus/<name>) and regression files
#          (tests/fuzz/regress/<name>); what it learns is kept in
#          build/fuzz/corpus/<name>, a crash in build/fuzz/artifacts/<name>/
#   check  the short pass (make fuzz-check, make check): every regression
#          and corpus file once as a plain input, then FUZZ_CHECK_SECONDS
#          (20) of fuzzing from the seeds in a scratch directory
#
# TARGET is a name (pidf for tests/fuzz/fuzz_pidf.c); none: every target.
# Each target's -max_len is the "fuzz-max-len: N" line of its source, and
# tests/fuzz/<name>.dict, when there is one, is its dictionary. A crash, a
# leak, a sanitizer report or a timeout fails the target; the run goes on
# with the next one and exits non-zero when any failed. The last line per
# target gives libFuzzer's final figures (executions, cov, ft, corpus).
set -uo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-}
shift || true
case $mode in
fuzz) secs=${FUZZ_SECONDS:-300} ;;
check) secs=${FUZZ_CHECK_SECONDS:-20} ;;
*) echo "usage: $0 fuzz|check [TARGET...]" >&2; exit 2 ;;
esac
# one input may take this long (s) before libFuzzer calls it a hang
timeout_s=${FUZZ_TIMEOUT:-25}

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
	for f in tests/fuzz/fuzz_*.c; do
		n=${f#tests/fuzz/fuzz_}
		targets+=("${n%.c}")
	done
fi

# max_len NAME: the "fuzz-max-len: N" of the target's source
max_len() {
	sed -nE 's/^.*fuzz-max-len: ([0-9]+).*$/\1/p' "tests/fuzz/fuzz_$1.c" | head -1
}

# figures LOG: "N runs, cov C ft F, corpus K" from libFuzzer's last status line
figures() {
	local line
	line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|pulse|NEW|REDUCE)' "$1" | tail -1)
	[[ -n $line ]] || { echo "no figures"; return; }
	awk '{ r = substr($1, 2); c = f = k = "?"
	       for (i = 2; i < NF; i++) {
		       if ($i == "cov:") c = $(i + 1)
		       if ($i == "ft:") f = $(i + 1)
		       if ($i == "corp:") k = $(i + 1)
	       }
	       printf "%s runs, cov %s ft %s, corpus %s\n", r, c, f, k }' <<<"$line"
}

# report LOG INPUT: why a run failed (the target's own check, the
# sanitizer's or libFuzzer's first error line), which input, the log's tail
report() {
	grep -a -m 3 -E '^fuzz_[a-z]+: |^==[0-9]+== ?ERROR|runtime error:|^SUMMARY' "$1" | sed 's/^/    /'
	[[ -n $2 ]] && echo "    input: $2"
	echo "    tail of $1:"
	tail -15 "$1" | sed 's/^/      /'
}

failed=0
for t in "${targets[@]}"; do
	bin=build/fuzz/fuzz_$t
	ml=$(max_len "$t")
	seeds=tests/fuzz/corpus/$t
	regress=tests/fuzz/regress/$t
	if [[ ! -x $bin ]]; then
		echo "FAIL - fuzz_$t: $bin is not built (make FLAVOUR=fuzz fuzz-bins)"
		failed=$((failed + 1))
		continue
	fi
	if [[ -z $ml ]]; then
		echo "FAIL - fuzz_$t: no 'fuzz-max-len: N' line in tests/fuzz/fuzz_$t.c"
		failed=$((failed + 1))
		continue
	fi
	opts=(-max_len="$ml" -timeout="$timeout_s" -print_final_stats=1)
	[[ -f tests/fuzz/$t.dict ]] && opts+=(-dict="tests/fuzz/$t.dict")
	dirs=()
	for d in "$seeds" "$regress"; do
		[[ -d $d ]] && dirs+=("$d")
	done

	if [[ $mode == check ]]; then
		work=build/fuzz/check/$t
		rm -rf "$work" && mkdir -p "$work/corpus"
		# 1. every regression and seed file once, whole (no -max_len cut)
		files=()
		[[ ${#dirs[@]} -gt 0 ]] && mapfile -t files < <(find "${dirs[@]}" -type f | sort)
		echo "-- fuzz_$t: ${#files[@]} regression and corpus files"
		if [[ ${#files[@]} -gt 0 ]] &&
			! "$bin" -timeout="$timeout_s" -artifact_prefix="$work/" "${files[@]}" >"$work/replay.log" 2>&1; then
			echo "FAIL - fuzz_$t: a regression or corpus file fails:"
			report "$work/replay.log" "$(grep -a '^Running: ' "$work/replay.log" | tail -1 | cut -d' ' -f2-)"
			failed=$((failed + 1))
			continue
		fi
		corpus=$work/corpus
		artifacts=$work/
	else
		corpus=build/fuzz/corpus/$t
		artifacts=build/fuzz/artifacts/$t/
		mkdir -p "$corpus" "$artifacts"
	fi

	# 2. fuzzing: new inputs go to the first directory, the seeds are read
	echo "-- fuzz_$t: fuzzing for $secs s (-max_len=$ml)"
	log=build/fuzz/fuzz_$t.$mode.log
	"$bin" "${opts[@]}" -max_total_time="$secs" -artifact_prefix="$artifacts" \
		"$corpus" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	if [[ $rc -ne 0 ]]; then
		echo "FAIL - fuzz_$t: libFuzzer exited $rc:"
		report "$log" "$(ls -t "$artifacts" 2>/dev/null | grep -E '^(crash|leak|timeout|oom|slow-unit)-' |
			head -1 | sed "s|^|$artifacts|")"
		failed=$((failed + 1))
		continue
	fi
	echo "fuzz_$t: ok, $(figures "$log")"
done
[[ $failed -eq 0 ]]
