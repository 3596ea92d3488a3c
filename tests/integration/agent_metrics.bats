#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# agent --metrics FILE: the Prometheus text file the agent writes after
# every pass.  Each line matches the exposition grammar (and promtool's
# check, where promtool is installed); sessions by state match
# `pgevict ls --json`, slots used and max match the cluster; an action
# counts in pgevict_actions_total under its rule's name; a reader looping
# on the file while a running agent rewrites it never sees it empty or
# cut; the file stays when the agent stops; a write that fails is said
# once and the agent goes on; no pid, user or query ever appears.

load common
bats_require_minimum_version 1.5.0

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	pgt_cluster_create m1 || return 1
	local r
	for r in met_a met_b met_c; do
		pgt_sql m1 "create role $r login" >/dev/null || return 1
	done
	export m1_dir m1_data m1_sock m1_port m1_name m1_log
}

teardown_file() {
	pgt_cleanup
}

setup() {
	agent_setup
	PROM="$RULES/textfile/pgevict.prom"
	mkdir -p "$RULES/textfile"
}

teardown() {
	agent_teardown
	pgt_cleanup
}

# exposition FILE: every line a HELP, a TYPE or a sample of a family
# typed before it, no series twice, a newline at the end, pgevict_up 1
# last; promtool's check too where it is installed.
exposition() {
	local f=$1
	[ -s "$f" ] || { echo "empty: $f" >&2; return 1; }
	[ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || { echo "no final newline" >&2; return 1; }
	awk '
	BEGIN { name = "[a-zA-Z_:][a-zA-Z0-9_:]*"; lab = "[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\[\\\\\"n])*\""
	        num = "[-+]?([0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?|Inf|NaN)" ; bad = 0 }
	/^# HELP / { if ($0 !~ "^# HELP " name " .*$") { print "bad HELP: " $0; bad = 1 } next }
	/^# TYPE / { if ($0 !~ "^# TYPE " name " (counter|gauge|untyped|summary|histogram)$") { print "bad TYPE: " $0; bad = 1 }
	             if ($3 in typed) { print "TYPE twice: " $3; bad = 1 } typed[$3] = 1; next }
	{
		if ($0 !~ "^" name "(\\{(" lab "(," lab ")*)?\\})? " num "$") { print "bad sample: " $0; bad = 1; next }
		fam = $0; sub(/[{ ].*/, "", fam)
		if (!(fam in typed)) { print "sample before its TYPE: " $0; bad = 1 }
		series = $0; sub(/ [^ ]*$/, "", series)
		if (series in seen) { print "series twice: " series; bad = 1 } seen[series] = 1
		last = $0
	}
	END { if (last != "pgevict_up 1") { print "pgevict_up 1 is not last: " last; bad = 1 } exit bad }' "$f" >&2 || return 1
	if command -v promtool >/dev/null; then
		promtool check metrics <"$f" >&2 || return 1
	fi
}

# sample FILE SERIES: the value of SERIES (exact text before the value).
sample() {
	awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " { print substr($0, length(s) + 2) }' "$1"
}

@test "metrics: --once writes a file in the exposition format; sessions by state match ls --json; slots and SQL" {
	need_root
	: >"$RULES/none.conf"
	hold m1 "host=127.0.0.1 user=met_a dbname=postgres" 3 idle "$m1_dir/run/a"
	hold m1 "host=127.0.0.1 user=met_b dbname=postgres" 2 xact "$m1_dir/run/b"
	hold m1 "host=127.0.0.1 user=met_c dbname=postgres" 1 active "$m1_dir/run/c"
	run --separate-stderr "$PGEVICT" --cluster "$m1_port" agent --rules "$RULES" --once --metrics "$PROM"
	[ "$status" -eq 0 ]
	cat "$PROM"
	exposition "$PROM"
	# no lock or temp file left beside it; mode 0644, root's
	[ "$(ls -A "$RULES/textfile")" = pgevict.prom ]
	[ "$(stat -c %a:%u "$PROM")" = 644:0 ]
	ls_json --cluster "$m1_port"
	want=$(printf '%s\n' "$output" | jq -r '.state // "unknown"' | sort | uniq -c | awk '{ n = $1; $1 = ""; sub(/^ /, ""); print $0 "=" n }')
	got=$(sed -n "s/^pgevict_sessions{cluster=\"$m1_name\",state=\"\\(.*\\)\"} \\([0-9]*\\)\$/\\1=\\2/p" "$PROM" | sort)
	echo "ls: $want"
	echo "metrics: $got"
	[ "$got" = "$(printf '%s\n' "$want" | sort)" ]
	[ "$(sample "$PROM" "pgevict_sessions{cluster=\"$m1_name\",state=\"idle\"}")" -eq 3 ]
	[ "$(sample "$PROM" "pgevict_sessions{cluster=\"$m1_name\",state=\"idle in transaction\"}")" -eq 2 ]
	used=$(printf '%s\n' "$output" | jq -r 'select(.backend_type == "client backend") | .pid' | wc -l)
	[ "$(sample "$PROM" "pgevict_slots_used{cluster=\"$m1_name\"}")" -eq "$used" ]
	maxc=$(pgt_sql m1 "show max_connections")
	[ "$(sample "$PROM" "pgevict_slots_max{cluster=\"$m1_name\"}")" -eq "$maxc" ]
	[ "$(sample "$PROM" "pgevict_sql_ok{cluster=\"$m1_name\"}")" -eq 1 ]
	[ "$(sample "$PROM" 'pgevict_passes_total{kind="full"}')" -eq 1 ]
	grep -q '^pgevict_pass_seconds [0-9.]*$' "$PROM"
	# bounded labels: no pid, user or query
	for p in $(pids_of "$m1_dir/run/a") $(pids_of "$m1_dir/run/c"); do refute grep -q "$p" "$PROM"; done
	refute grep -q 'met_\|pg_sleep\|select' "$PROM"
	refute grep -q 'pgevict_actions_total' "$PROM"
}

@test "metrics: --once without SQL: sql_ok 0, sessions still counted from /proc" {
	need_root
	: >"$RULES/none.conf"
	hold m1 "host=127.0.0.1 user=met_a dbname=postgres" 2 idle "$m1_dir/run/a"
	run --separate-stderr "$PGEVICT" --cluster "$m1_port" --no-sql agent --rules "$RULES" --once --metrics "$PROM"
	[ "$status" -eq 0 ]
	exposition "$PROM"
	[ "$(sample "$PROM" "pgevict_sql_ok{cluster=\"$m1_name\"}")" -eq 0 ]
	[ "$(sample "$PROM" "pgevict_sessions{cluster=\"$m1_name\",state=\"idle\"}")" -eq 2 ]
}

@test "metrics: an action counts in pgevict_actions_total under its rule's name, kept across passes" {
	need_root
	printf '[trim-b]\nmatch = --user met_b\naction = terminate\nkeep = 1\n' >"$RULES/trim.conf"
	hold m1 "host=127.0.0.1 user=met_b dbname=postgres" 3 idle "$m1_dir/run/b"
	start_agent m1 --metrics "$PROM" --interval 300ms
	wait_for "$RULES/err" "agent: 1 rules"
	for _ in $(seq 1 100); do
		[ "$(grep -c '"outcome":"gone"' "$RULES/out")" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(grep -c '"outcome":"gone"' "$RULES/out")" -eq 2 ]
	# the next periodic pass writes it
	sleep 0.8
	hold m1 "host=127.0.0.1 user=met_b dbname=postgres" 1 idle "$m1_dir/run/b2"
	for _ in $(seq 1 100); do
		[ "$(grep -c '"outcome":"gone"' "$RULES/out")" -ge 3 ] && break
		sleep 0.1
	done
	sleep 0.8
	cat "$PROM"
	exposition "$PROM"
	total=$(grep '^pgevict_actions_total{rule="trim-b",action="terminate",outcome="gone",step="' "$PROM" |
		awk '{ n += $NF } END { print n + 0 }')
	[ "$total" -eq 3 ]
	# one of met_b's sessions is left (an active one of an earlier test may linger)
	[ "$(sample "$PROM" "pgevict_sessions{cluster=\"$m1_name\",state=\"idle\"}")" -eq 1 ]
	[ "$(sample "$PROM" "pgevict_slots_used{cluster=\"$m1_name\"}")" -ge 1 ]
	stop_agent
	# the file stays when the agent stops: the last state, for the collector
	exposition "$PROM"
}

@test "metrics: a reader looping on the file while the agent rewrites it never sees it empty or cut" {
	need_root
	: >"$RULES/none.conf"
	start_agent m1 --metrics "$PROM" --interval 100ms
	wait_for "$RULES/err" "agent: 0 rules"
	for _ in $(seq 1 50); do [ -s "$PROM" ] && break; sleep 0.1; done
	local end=$(( $(date +%s) + 4 )) reads=0 inodes=() text prev=
	hold m1 "host=127.0.0.1 user=met_a dbname=postgres" 2 idle "$m1_dir/run/a1"
	while [ "$(date +%s)" -lt "$end" ]; do
		text=$(cat "$PROM")
		reads=$((reads + 1))
		[ -n "$text" ] || { echo "read $reads: empty" >&2; false; }
		[ "${text##*$'\n'}" = "pgevict_up 1" ] || { echo "read $reads: cut: $text" >&2; false; }
		[ "${text%%$'\n'*}" = "${prev:-${text%%$'\n'*}}" ] || { echo "read $reads: bad start" >&2; false; }
		prev=${text%%$'\n'*}
		if [ "$reads" = 200 ]; then pgt_release "${HOLDS[0]}"; fi
	done
	echo "$reads reads"
	[ "$reads" -gt 200 ]
	exposition "$PROM"
	# rewritten meanwhile: the pass count moved, and the released sessions left
	passes=$(sample "$PROM" 'pgevict_passes_total{kind="cheap"}')
	echo "cheap passes: $passes"
	[ "$passes" -ge 10 ]
	refute grep -q "pgevict_sessions{cluster=\"$m1_name\",state=\"idle\"}" "$PROM"
	stop_agent
}

@test "metrics: a write that fails is said once; the agent goes on and acts" {
	need_root
	printf '[trim-c]\nmatch = --user met_c\naction = terminate\nkeep = 1\n' >"$RULES/trim.conf"
	PROM="$RULES/no/such/dir/pgevict.prom"
	start_agent m1 --metrics "$PROM" --interval 100ms
	wait_for "$RULES/err" "cannot write the metrics to '$PROM'"
	hold m1 "host=127.0.0.1 user=met_c dbname=postgres" 2 idle "$m1_dir/run/c"
	wait_for "$RULES/out" '"rule":"trim-c"'
	sleep 0.5
	alive "$AGENT"
	stop_agent
	[ "$(grep -c "cannot write the metrics" "$RULES/err")" -eq 1 ]
}

@test "metrics: --metrics takes an absolute path, and only for the agent" {
	run "$PGEVICT" agent --rules /nonexistent --metrics relative.prom
	[ "$status" -eq 2 ]
	[[ "$output" == *"--metrics"* ]]
	run "$PGEVICT" ls --metrics /tmp/x.prom
	[ "$status" -eq 2 ]
}
