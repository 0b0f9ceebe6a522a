#!/bin/bash
#
# t-fuzz: the libFuzzer harnesses in fuzz/ build (clang-14, ASan, UBSan),
# every committed seed in fuzz/corpus/<harness>/ (regression seeds of
# fixed bugs included) runs through its harness without a crash, and a
# short mutation pass from those seeds (a fixed -seed, at most RUNS
# executions or SECS seconds) finds no crash either.  The long runs are
# `make fuzz` (fuzz/README.md).
#
# It checks libFuzzer's own lines, not just exit codes: one "Executed"
# line per seed file, an "INITED" and a "Done N runs" line per mutation
# pass.  And it checks that a crash is seen: fuzz-server-request under a
# 1 MB malloc limit must fail (its set-up allocates more).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
HARNESSES=(fuzz-wire fuzz-server-request fuzz-client-reply fuzz-config
	fuzz-cmdline fuzz-fec fuzz-metrics fuzz-trace)
RUNS=${T_FUZZ_RUNS:-100000}
SECS=${T_FUZZ_SECS:-10}
bad=0

command -v clang-14 >/dev/null ||
	{ echo "FAIL: clang-14 is not installed (scripts/install-deps.sh)"; exit 1; }
if ! make -s fuzz-build >/dev/null 2>build/fuzz-build.err; then
	echo "FAIL: make fuzz-build"
	tail -n 30 build/fuzz-build.err
	exit 1
fi
rm -f build/fuzz-build.err
tmp=$(mktemp -d "$REPO/build/fuzz/t-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for h in "${HARNESSES[@]}"; do
	bin=build/fuzz/$h
	seeds=(fuzz/corpus/"$h"/*)
	n=${#seeds[@]}
	if [[ ! -x "$bin" ]] || ((n < 5)); then
		echo "FAIL: $h: no binary, or only $n seeds"
		bad=1
		continue
	fi
	# 1. Every seed, once.
	if ! "$bin" "${seeds[@]}" >"$tmp/$h.replay" 2>&1; then
		echo "FAIL: $h crashed on a committed seed:"
		grep -a -E 'Running:|ERROR|invariant failed|SUMMARY' \
			"$tmp/$h.replay" | tail -n 8
		bad=1
		continue
	fi
	ran=$(grep -a -c '^Executed fuzz/corpus/' "$tmp/$h.replay" || true)
	if ((ran != n)); then
		echo "FAIL: $h executed $ran of its $n seeds"
		bad=1
		continue
	fi
	# 2. A short mutation pass on a copy (the committed corpus stays).
	mkdir "$tmp/$h.corpus"
	cp "${seeds[@]}" "$tmp/$h.corpus/"
	if ! (cd "$tmp" && "$REPO/$bin" -seed=1 -runs="$RUNS" \
		-max_total_time="$SECS" -rss_limit_mb=2048 \
		-artifact_prefix="$tmp/$h-" "$h.corpus") \
		>"$tmp/$h.fuzz" 2>&1; then
		echo "FAIL: $h crashed while mutating its seeds:"
		grep -a -E 'ERROR|invariant failed|SUMMARY|Test unit written' \
			"$tmp/$h.fuzz" | head -n 8
		echo "  (input saved as $(ls "$tmp/$h"-* 2>/dev/null | head -n 1);" \
			"rerun: $bin FILE)"
		cp "$tmp/$h"-* build/ 2>/dev/null || true
		bad=1
		continue
	fi
	done_line=$(grep -a -E '^Done [0-9]+ runs' "$tmp/$h.fuzz" || true)
	runs=$(sed -E 's/^Done ([0-9]+) runs.*/\1/' <<<"$done_line")
	if ! grep -a -q 'INITED' "$tmp/$h.fuzz" || [[ -z "$done_line" ]] ||
		((runs < 1)); then
		echo "FAIL: $h: the mutation pass did not run"
		tail -n 5 "$tmp/$h.fuzz"
		bad=1
		continue
	fi
	echo "$h: $n seeds executed; $done_line"
done

# A harness that crashes must make this test fail.
if build/fuzz/fuzz-server-request -malloc_limit_mb=1 -runs=10 \
	fuzz/corpus/fuzz-server-request/hello-any >"$tmp/canary" 2>&1 ||
	! grep -a -q 'ERROR: libFuzzer' "$tmp/canary"; then
	echo "FAIL: a crash in a harness went unnoticed"
	bad=1
else
	echo "a crashing harness is noticed"
fi
exit $bad
