#!/bin/bash
#
# fuzz/run.sh HARNESS... - what `make fuzz` runs after building: each
# harness for FUZZ_TIME seconds (default 60) with -jobs=1, starting from
# its committed seeds in fuzz/corpus/<harness>/.
#
# New inputs go to build/fuzz/findings/<harness>/corpus/ (kept between
# runs, so the next run starts where this one ended), crashes and other
# artifacts to build/fuzz/findings/<harness>/, libFuzzer's log to
# build/fuzz/findings/<harness>/fuzz-0.log.  The committed corpus is never
# written.  Exits 1 if any harness found a crash (or failed to run).
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIME=${FUZZ_TIME:-60}
FOUND="$REPO/build/fuzz/findings"
failed=()

(($#)) || { echo "usage: fuzz/run.sh HARNESS..." >&2; exit 2; }
for h in "$@"; do
	bin="$REPO/build/fuzz/$h"
	dir="$FOUND/$h"
	[[ -x "$bin" ]] || { echo "fuzz: no $bin (make fuzz-build)" >&2; exit 2; }
	mkdir -p "$dir/corpus"
	touch "$dir/.start"
	echo "fuzz: $h for ${TIME}s"
	# -jobs=1 runs one fuzzing process with its output in fuzz-0.log
	# in the current directory: the findings directory.
	(cd "$dir" && "$bin" -jobs=1 -max_total_time="$TIME" \
		-print_final_stats=1 -artifact_prefix="$dir/" \
		"$dir/corpus" "$REPO/fuzz/corpus/$h" >/dev/null 2>&1)
	rc=$?
	grep -a -E '^(#[0-9]+ +DONE|Done [0-9]+ runs|stat::average_exec_per_sec)' \
		"$dir/fuzz-0.log" | sed "s/^/fuzz: $h: /"
	crashes=$(find "$dir" -maxdepth 1 -newer "$dir/.start" \
		\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
		-o -name 'oom-*' \) | wc -l)
	if ((rc != 0 || crashes > 0)); then
		echo "fuzz: $h FAILED (exit $rc); see $dir/fuzz-0.log"
		grep -a -E 'ERROR|invariant failed|SUMMARY|Test unit written' \
			"$dir/fuzz-0.log" | head -n 10 | sed "s/^/fuzz: $h: /"
		failed+=("$h")
	fi
done
if ((${#failed[@]})); then
	echo "fuzz: crashes in ${failed[*]}; reproduce with" \
		"build/fuzz/<harness> build/fuzz/findings/<harness>/crash-..."
	exit 1
fi
echo "fuzz: no crash in $*"
