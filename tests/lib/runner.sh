# shellcheck shell=bash
#
# tests/lib/runner.sh - what tests/run-all.sh does around each test, kept
# apart so that tests/integration/test_runner.sh can check it: a time limit
# that kills a hung test with everything it started, a FAIL line with the
# log tails, and sanitizer reports found in a test's logs.
#
#   limited SECONDS LOG CMD...      CMD with stdout+stderr in LOG, killed
#                                   (its process group) after SECONDS
#   timed_out NAME LOG DIR SECONDS  the FAIL line of a test that hung
#   sanitizer_reports NAME PATH...  a FAIL per file with a sanitizer report
#   time_limit SCRIPT DEFAULT       the "# time-limit: N" of SCRIPT, or DEFAULT
# They count into the caller's failed (and problems) variables.

# limited SECONDS LOG CMD...: runs CMD (stdout+stderr to LOG) in its own
# process group; after SECONDS it and all it started get SIGTERM, 10 s
# later SIGKILL. Returns CMD's status, 124 when the limit struck.
limited() {
	local secs=$1 log=$2
	shift 2
	timeout -k 10 "$secs" "$@" >"$log" 2>&1 </dev/null
}

# timed_out NAME LOG DIR SECONDS: the FAIL line of a test that hung, with
# the tail of its log and of the newest gateway log it left.
timed_out() {
	local gwlog
	echo "FAIL - $1: no result within $4 s (killed); tail of $2:"
	tail -30 "$2" | sed 's/^/    /'
	if [[ -n $3 && -d $3 ]]; then
		gwlog=$(find "$3" -name 'pxtsgw*.log' -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -1 | cut -d' ' -f2-)
		if [[ -n $gwlog ]]; then
			echo "    -- tail of $gwlog:"
			tail -20 "$gwlog" | sed 's/^/    /'
		fi
	fi
	problems+=("$1 timed out after $4 s: see $2")
	failed=$((failed + 1))
	return 0
}

# sanitizer_reports NAME PATH...: a failure per file that holds a sanitizer
# report (AddressSanitizer, LeakSanitizer, UBSan, ThreadSanitizer).
sanitizer_reports() {
	local name=$1 f
	shift
	while IFS= read -r f; do
		[[ -n $f ]] || continue
		echo "FAIL - $name: sanitizer report in $f:"
		grep -E -m 3 '^(SUMMARY|WARNING: ThreadSanitizer|==[0-9]+==ERROR)|runtime error:' "$f" | sed 's/^/    /'
		problems+=("$name: sanitizer report in $f")
		failed=$((failed + 1))
	done < <(grep -rlE '^(WARNING: ThreadSanitizer|SUMMARY: (Address|Leak|Thread|UndefinedBehavior)Sanitizer)|^[^ ]+:[0-9]+:[0-9]+: runtime error:' "$@" 2>/dev/null)
}

# time_limit SCRIPT DEFAULT: a script may say how long it may take at most
# (a line "# time-limit: N", seconds); TEST_TIME_LIMIT overrides both
time_limit() {
	local n
	n=$(sed -nE 's/^# time-limit: ([0-9]+)$/\1/p' "$1" | head -1)
	echo "${TEST_TIME_LIMIT:-${n:-$2}}"
}
