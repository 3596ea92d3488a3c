#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/run.sh [unit|fuzz|integration]... -- run the suites against
# $BUILD (default build/), print each suite's result and end with the plain
# line "N passed, N failed, N skipped".  Exit status 1 when anything failed.
#
# unit:        cmocka binaries, one per core module (no root)
# fuzz:        every fuzz target replayed over its corpus (no root)
# integration: bats files on real PostgreSQL clusters made by the tests
#              (root; without it each test says it skipped); the lint
#              below runs first
# lint:        bats files checked for negations that cannot fail (run
#              before integration; also on its own)
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

# find_bare_negations FILE...: print FILE:LINE: for each negated command
# that cannot fail its test.  In bats, `! cmd` fails a test only as the
# test's last command: bash's errexit (and bats' ERR trap) ignore a command
# whose status `!` inverted.  Flagged:
#  - a line whose first token is `!`, unless it is the last command of a
#    top-level { } body (a @test, or a function at column 0, which returns
#    the status: its caller fails), or outside any body;
#  - `!` right after `do`, `then`, `else`, `;`, `&&` or `||` anywhere (inside
#    a loop or a list the inverted status is ignored, whatever the line).
# Not flagged: `if ! cmd`, `while ! cmd`, `[ ! ...]`, `run ! cmd`.  Comments,
# blank lines and here-document bodies are skipped; lines ending in `\`,
# `|`, `&&` or `||` are joined with the next.  A body opens on a line that
# ends in `{` and starts with `@test`, `NAME()` or `function`, and closes on
# a `}` at column 0.
find_bare_negations() {
	awk '
	function flush_body(   i) {
		for (i = 1; i <= nb; i++)
			if (bneg[i] && i < nb)
				printf "%s:%d: bare negation that cannot fail its test: %s\n", FILENAME, bline[i], btext[i]
		nb = 0
	}
	function check(text, line,   t) {
		t = text
		sub(/^[ \t]+/, "", t)
		if (t ~ /(^|[ \t;])(do|then|else)[ \t]+![ \t]/ || t ~ /(;|&&|\|\|)[ \t]*![ \t]/)
			printf "%s:%d: negation inside a loop or list cannot fail its test: %s\n", FILENAME, line, t
		if (!inbody) {
			if (t ~ /^![ \t]/)
				printf "%s:%d: bare negation outside a test: %s\n", FILENAME, line, t
			return
		}
		nb++
		bline[nb] = line
		btext[nb] = t
		bneg[nb] = (t ~ /^![ \t]/)
	}
	FNR == 1 { if (inbody) flush_body(); inbody = 0; heredoc = ""; pend = "" }
	{
		line = $0
		if (heredoc != "") {
			t = line
			if (strip) sub(/^\t+/, "", t)
			if (t == heredoc) heredoc = ""
			next
		}
		if (pend == "" && line ~ /^[ \t]*(#|$)/) next
		if (inbody && pend == "" && line ~ /^}[ \t]*$/) { flush_body(); inbody = 0; next }
		if (!inbody && pend == "" && line ~ /^(@test[ \t].*|[A-Za-z_][A-Za-z0-9_:.-]*[ \t]*\(\)[ \t]*|function[ \t].*)\{[ \t]*$/) {
			inbody = 1; nb = 0; next
		}
		if (match(line, /(^|[^<])<<-?[ \t]*["\047]?[A-Za-z_][A-Za-z0-9_]*/)) {
			h = substr(line, RSTART, RLENGTH)
			strip = (h ~ /<<-/)
			sub(/^.*<<-?[ \t]*["\047]?/, "", h)
			heredoc = h
		}
		if (pend == "") pline = FNR
		pend = pend line
		if (line ~ /(\\|\||&&)[ \t]*$/) { sub(/\\[ \t]*$/, "", pend); pend = pend " "; next }
		check(pend, pline)
		pend = ""
	}
	END { if (inbody) flush_body() }
	' "$@"
}

# The lint itself is checked on tests/data/negation.bats, whose lines that
# must be flagged end in "# flag" (or follow a "# flag-next" line): the
# scanner has to find exactly those.
run_lint() {
	local want got out
	want=$({ grep -n '# flag$' tests/data/negation.bats | cut -d: -f1
		grep -n '# flag-next$' tests/data/negation.bats | cut -d: -f1 | while read -r n; do echo $((n + 1)); done
	} | sort -n | tr '\n' ' ')
	got=$(find_bare_negations tests/data/negation.bats | cut -d: -f2 | sort -n | tr '\n' ' ')
	if [ -n "$want" ] && [ "$want" = "$got" ]; then
		echo "lint self-check: 1 passed, 0 failed (flags lines $want in tests/data/negation.bats)"
		passed=$((passed + 1))
	else
		find_bare_negations tests/data/negation.bats
		echo "lint self-check: 0 passed, 1 failed (flagged lines '$got', expected '$want')"
		failed=$((failed + 1))
	fi
	out=$(find_bare_negations tests/integration/*.bats tests/integration/*.bash tests/lib/*.bash)
	if [ -z "$out" ]; then
		echo "lint negations: 1 passed, 0 failed"
		passed=$((passed + 1))
	else
		printf '%s\n' "$out"
		echo "lint negations: 0 passed, 1 failed (use run ! cmd, refute cmd, or if cmd; then false; fi)"
		failed=$((failed + 1))
	fi
}

run_integration() {
	local f p n s
	run_lint
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
	lint) run_lint ;;
	integration) run_integration ;;
	*) echo "run.sh: unknown suite '$s'" >&2; exit 2 ;;
	esac
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
