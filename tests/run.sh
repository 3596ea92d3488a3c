#!/usr/bin/env bash
# tests/run.sh [unit|fuzz|integration]... -- run the suites against
# $BUILD (default build/), print each suite's result and end with the plain
# line "N passed, N failed, N skipped".  Exit status 1 when anything failed.
#
# unit:        cmocka binaries, one per core module (no root)
# fuzz:        every fuzz target replayed over its corpus (no root)
# integration: bats files on real PostgreSQL clusters made by the tests
#              (root; without it each test says it skipped)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit fuzz integration)
passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_unit() {
	local t p f
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.d) continue ;; esac
		"$t" >"$log" 2>&1
		local rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
		p=${p:-0} f=${f:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed
		[ "$f" -eq 0 ] || cat "$log"
		echo "unit $(basename "$t"): $p passed, $f failed"
		passed=$((passed + p)) failed=$((failed + f))
	done
}

run_fuzz() {
	local t name
	for t in "$BUILD"/tests/replay_*; do
		[ -x "$t" ] || continue
		case "$t" in *.d) continue ;; esac
		name=${t##*/replay_}
		if "$t" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
			echo "fuzz replay $name: $(tail -n 1 "$log")"
			passed=$((passed + 1))
		else
			cat "$log"
			echo "fuzz replay $name: FAILED"
			failed=$((failed + 1))
		fi
	done
}

run_integration() {
	local f p n s
	if ! command -v bats >/dev/null; then
		echo "integration: bats is not installed (make deps): skipped"
		skipped=$((skipped + 1))
		return
	fi
	for f in tests/integration/*.bats; do
		bats --tap "$f" >"$log" 2>&1
		p=$(grep -c '^ok ' "$log" || true)
		s=$(grep -c '^ok .* # skip' "$log" || true)
		n=$(grep -c '^not ok ' "$log" || true)
		p=$((p - s))
		if [ "$n" -gt 0 ] || ! grep -q '^1\.\.' "$log"; then
			cat "$log"
			[ "$n" -gt 0 ] || n=1
		fi
		grep '^ok .* # skip' "$log" | sed 's/^/  /' | head -n 3
		echo "integration $(basename "$f"): $p passed, $n failed, $s skipped"
		passed=$((passed + p)) failed=$((failed + n)) skipped=$((skipped + s))
	done
}

for s in "${suites[@]}"; do
	case "$s" in
	unit) run_unit ;;
	fuzz) run_fuzz ;;
	integration) run_integration ;;
	*) echo "run.sh: unknown suite '$s'" >&2; exit 2 ;;
	esac
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
