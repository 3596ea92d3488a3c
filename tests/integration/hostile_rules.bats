#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Rule files are trusted like sudoers: `agent --check` and the agent refuse
# a rules directory or a rule file that is not owned by root, is writable
# by group or others, is a symlink (or is no regular file), with exit 2 and
# one line naming the file and the fix; a running agent's reload keeps the
# rules in force.  A root 0644 file in a root 0755 directory is accepted.

load common

GOOD=$'[quiet]\nmatch = --user pgevict_no_such_role_hr\naction = cancel\n'

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (rule files must be owned by root)"
	id nobody >/dev/null 2>&1 || skip "needs the nobody user"
	T=$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/rules.XXXXXX")
	chmod 755 "$T"
	mkdir -m 755 "$T/rules.d"
	printf '%s' "$GOOD" >"$T/rules.d/a.conf"
	chmod 644 "$T/rules.d/a.conf"
}

teardown() {
	[ -z "${AGENT:-}" ] || { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; } || true
}

# check: agent --check on $T/rules.d, in $status and $output.
check() {
	run "$PGEVICT" agent --rules "${1:-$T/rules.d}" --check
	echo "$output"
}

@test "a root 0644 file in a root 0755 directory is accepted" {
	check
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "1 rules in 1 files: ok" ]
	# a file named directly, too
	check "$T/rules.d/a.conf"
	[ "$status" -eq 0 ]
}

@test "a rule file with mode 0666 is refused, naming the file and the fix" {
	chmod 666 "$T/rules.d/a.conf"
	check
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: refusing rule file '$T/rules.d/a.conf': writable by group and others (chmod go-w it; rule files must be owned by root and writable only by root)" ]
}

@test "a rule file with mode 0664 is refused" {
	chmod 664 "$T/rules.d/a.conf"
	check
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: refusing rule file '$T/rules.d/a.conf': writable by group (chmod go-w it; rule files must be owned by root and writable only by root)" ]
	# also named directly
	check "$T/rules.d/a.conf"
	[ "$status" -eq 2 ]
	[[ "$output" == "pgevict: refusing rule file '$T/rules.d/a.conf': writable by group "* ]]
}

@test "a rule file owned by nobody is refused" {
	printf '%s' "${GOOD/quiet/other}" >"$T/rules.d/b.conf"
	chown nobody "$T/rules.d/b.conf"
	check
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: refusing rule file '$T/rules.d/b.conf': not owned by root (chown root it; rule files must be owned by root and writable only by root)" ]
}

@test "a symlinked rule file is refused, even to a good root file" {
	printf '%s' "${GOOD/quiet/other}" >"$T/target.conf"
	ln -s "$T/target.conf" "$T/rules.d/b.conf"
	check
	[ "$status" -eq 2 ]
	[[ "$output" == "pgevict: refusing rule file '$T/rules.d/b.conf': a symlink "* ]]
	check "$T/rules.d/b.conf"
	[ "$status" -eq 2 ]
	[[ "$output" == "pgevict: refusing rules '$T/rules.d/b.conf': a symlink "* ]]
}

@test "a symlinked rules directory is refused, also with a trailing slash" {
	ln -s "$T/rules.d" "$T/link.d"
	check "$T/link.d"
	[ "$status" -eq 2 ]
	[[ "$output" == "pgevict: refusing rules '$T/link.d': a symlink "* ]]
	check "$T/link.d/"
	[ "$status" -eq 2 ]
	[[ "$output" == "pgevict: refusing rules '$T/link.d/': a symlink "* ]]
}

@test "a rules directory owned by another user, or writable by others, is refused" {
	chown nobody "$T/rules.d"
	check
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: refusing rules directory '$T/rules.d': not owned by root (chown root it; the rules directory and its files must be owned by root and writable only by root)" ]
	chown root "$T/rules.d"
	chmod 1777 "$T/rules.d"
	check
	[ "$status" -eq 2 ]
	[[ "$output" == "pgevict: refusing rules directory '$T/rules.d': writable by group and others "* ]]
}

@test "a FIFO as a rule file is refused at once, never waited on" {
	mkfifo -m 644 "$T/rules.d/f.conf"
	run timeout 10 "$PGEVICT" agent --rules "$T/rules.d" --check
	[ "$status" -eq 2 ]
	[ "$output" = "pgevict: refusing rule file '$T/rules.d/f.conf': not a regular file (make it a regular file; rule files must be owned by root and writable only by root)" ]
}

@test "the agent does not start on a refused file (exit 2); a running agent's reload keeps its rules" {
	chmod 664 "$T/rules.d/a.conf"
	run timeout 30 "$PGEVICT" agent --rules "$T/rules.d" --once --dry-run
	[ "$status" -eq 2 ]
	[[ "$output" == *"refusing rule file '$T/rules.d/a.conf': writable by group "* ]]
	chmod 644 "$T/rules.d/a.conf"
	"$PGEVICT" agent --rules "$T/rules.d" --dry-run --interval 200ms >"$T/out" 2>"$T/err" </dev/null 3>&- 4>&- &
	AGENT=$!
	for _ in $(seq 100); do grep -q "agent: 1 rules" "$T/err" && break; sleep 0.1; done
	grep -q "agent: 1 rules" "$T/err"
	printf '%s' "${GOOD/quiet/other}" >"$T/rules.d/b.conf"
	chmod 666 "$T/rules.d/b.conf"
	kill -0 "$AGENT" || { echo "the agent exited before the reload:"; cat "$T/err"; false; }
	kill -HUP "$AGENT"
	for _ in $(seq 100); do grep -q "keeping the 1 rules in force" "$T/err" && break; sleep 0.1; done
	cat "$T/err"
	grep -qF "pgevict: refusing rule file '$T/rules.d/b.conf': writable by group and others" "$T/err"
	grep -q "keeping the 1 rules in force" "$T/err"
	kill -0 "$AGENT"
	kill -TERM "$AGENT"
	rc=0
	wait "$AGENT" || rc=$?
	AGENT=
	[ "$rc" -eq 0 ]
}
