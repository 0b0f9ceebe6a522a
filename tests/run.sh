#!/bin/bash
#
# tests/run.sh - the dnbd test runner (what `make check` runs after building).
#
#   tests/run.sh                          every unit test binary
#                                         (build/tests/test-*,
#                                         build/asan/tests/test-*), the
#                                         script checks tests/unit/t-*.sh, the
#                                         driver's build checks tests/kmod/t-*.sh,
#                                         every integration test tests/net/t-*.sh
#                                         and the QEMU tests vm-tests/t-*.sh
#   tests/run.sh tests/net/t-foo.sh ...   just those tests (a unit test
#                                         binary may be named the same way)
#
# Needs root: the integration tests build network namespaces, the VM
# tests taps.  Each test
# runs under a time limit ($DNBD_TEST_TIMEOUT, default 600 s, or more when
# the script has a line "# test-timeout: SECONDS") and logs to
# build/test-logs/<name>.log.  One line per test:
#   PASS name (Ns)  |  FAIL name (see log)  |  SKIP name: reason
# A test that exits 77 is skipped; its last "SKIP: reason" line is the
# reason.  The last line is "N passed, N failed"; the exit status is 1 when
# anything failed.  DNBD_BIN selects the binaries (see tests/net/lib.sh).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOGDIR="$REPO/build/test-logs"
TIMEOUT=${DNBD_TEST_TIMEOUT:-600}
passed=0
failed=0
failures=()

if [[ $EUID -ne 0 ]]; then
	echo "tests/run.sh: must run as root (the tests create network" \
		"namespaces); run: sudo make check" >&2
	exit 1
fi

# The log name: t-loss, test-wire, asan-test-wire.
test_name() {
	local t=$1
	case "$t" in
	*/asan/tests/*) printf 'asan-%s' "$(basename "$t")" ;;
	*.sh) basename "$t" .sh ;;
	*) basename "$t" ;;
	esac
}

# run_one PATH: run one test, print its line, count it.
run_one() {
	local t=$1 name log start rc secs reason limit=$TIMEOUT own
	name=$(test_name "$t")
	# A script may ask for more time: a line "# test-timeout: SECONDS".
	if [[ "$t" == *.sh ]]; then
		own=$(sed -n 's/^# test-timeout: \([0-9][0-9]*\)$/\1/p' "$t" | head -n 1)
		[[ -n "$own" ]] && ((own > limit)) && limit=$own
	fi
	log="$LOGDIR/$name.log"
	start=$(date +%s)
	# Integration tests are scripts; unit tests are binaries.
	if [[ "$t" == *.sh ]]; then
		timeout --kill-after=30 "$limit" bash "$t" >"$log" 2>&1 </dev/null
	else
		timeout --kill-after=30 "$TIMEOUT" "$t" >"$log" 2>&1 </dev/null
	fi
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0)
		echo "PASS $name (${secs}s)"
		passed=$((passed + 1))
		;;
	77)
		reason=$(grep -a '^SKIP: ' "$log" | tail -n 1 | cut -c7-)
		echo "SKIP $name: ${reason:-no reason given}"
		;;
	*)
		((rc == 124 || rc == 137)) &&
			echo "(timed out after $limit s)" >>"$log"
		echo "FAIL $name (see build/test-logs/$name.log)"
		failed=$((failed + 1))
		failures+=("$log")
		;;
	esac
}

# Everything there is: unit binaries of both builds, then the net tests.
all_tests() {
	local t
	for t in "$REPO"/build/tests/test-* "$REPO"/build/asan/tests/test-*; do
		[[ -x "$t" && -f "$t" ]] && printf '%s\n' "$t"
	done
	for t in "$REPO"/tests/unit/t-*.sh "$REPO"/tests/kmod/t-*.sh \
		"$REPO"/tests/net/t-*.sh "$REPO"/vm-tests/t-*.sh; do
		[[ -f "$t" ]] && printf '%s\n' "$t"
	done
}

main() {
	local t tests=()
	mkdir -p "$LOGDIR"
	if (($#)); then
		for t in "$@"; do
			[[ -e "$t" ]] || { echo "tests/run.sh: no test $t" >&2; exit 2; }
			tests+=("$(cd "$(dirname "$t")" && pwd)/$(basename "$t")")
		done
	else
		mapfile -t tests < <(all_tests)
	fi
	# Namespaces of an earlier run that was killed with -9.
	# shellcheck source=SCRIPTDIR/net/lib.sh
	(source "$REPO/tests/net/lib.sh" && net_reap_stale)
	for t in "${tests[@]}"; do
		run_one "$t"
	done
	# For CI output: the end of each failed log before the summary.
	# The FAIL: line first: a failed test's log ends with the tails of
	# its helpers' logs, which can push the reason out of the last lines.
	for t in "${failures[@]}"; do
		echo "---- why: ${t#"$REPO"/}"
		grep -a -E '^(FAIL: |\(timed out)' "$t" | tail -n 3 | cut -c1-300
		echo "---- last lines of ${t#"$REPO"/}"
		tail -n 30 "$t" | cut -c1-300
	done
	echo "$passed passed, $failed failed"
	((failed == 0))
}

main "$@"; exit $?	# exit here: never read a file edited mid-run
