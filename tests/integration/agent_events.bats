#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The agent on process events (the kernel's proc connector): a `keep = 1`
# rule under --interval 5s ends an extra session well under a second after
# its client connected (three times in a row, so no periodic pass can
# explain it), and a session no rule names costs no pass; where the kernel
# refuses the events (a real refusal: an agent in a network namespace of
# its own) the agent says so once and still acts at its interval; SIGHUP
# reloads and SIGTERM stops with exit 0 as before; a rule on the state
# (--state idle) acts as the new session leaves authentication.

load common
bats_require_minimum_version 1.5.0

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	pgt_cluster_create e1 || return 1
	local r
	for r in ev_a ev_b ev_c; do
		pgt_sql e1 "create role $r login" >/dev/null || return 1
	done
	export e1_dir e1_data e1_sock e1_port e1_name e1_log
}

teardown_file() {
	pgt_cleanup
}

setup() {
	agent_setup
}

teardown() {
	agent_teardown
	pgt_cleanup
}

# session_ms USER: connect as USER, wait for the server to end the
# session (at most 10 s); prints the milliseconds from before the client
# started to after it saw the end.
session_ms() {
	local t0 t1
	t0=$(date +%s%N)
	timeout 10 "$(pgt_bindir)/psql" -X -q "host=127.0.0.1 port=$e1_port user=$1 dbname=postgres" \
		-c "select pg_sleep(10)" >/dev/null 2>&1 </dev/null || true
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}

@test "events: keep = 1 under --interval 5s ends the extra session well under a second after its connect" {
	need_root
	cat >"$RULES/one.conf" <<-EOF
	[one-per-role]
	match = --user ev_a
	action = terminate
	keep = 1
	per = user
	EOF
	hold e1 "host=127.0.0.1 user=ev_a dbname=postgres" 1 idle "$e1_dir/run/first"
	start_agent e1 --interval 5s
	wait_for "$RULES/err" "process events: new sessions are judged"
	wait_for "$RULES/err" "agent: 1 rules"
	sleep 0.3
	for i in 1 2 3; do
		ms=$(session_ms ev_a)
		echo "session $i ended ${ms}ms after its client started"
		[ "$ms" -lt 1000 ]
	done
	wait_for "$RULES/out" '"rule":"one-per-role"'
	[ "$(grep -c '"outcome":"gone"' "$RULES/out")" -eq 3 ]
	alive "$(pids_of "$e1_dir/run/first")"
	stop_agent
	grep "forks and" "$RULES/err"
	evpasses=$(sed -n 's/.* \([0-9]*\) passes on events.*/\1/p' "$RULES/err")
	[ "$evpasses" -ge 3 ]
	refute grep -q "no process events" "$RULES/err"
}

@test "events: a session no rule names costs no pass; other roles' sessions stay" {
	need_root
	printf '[one]\nmatch = --user ev_a\naction = terminate\nkeep = 1\n' >"$RULES/one.conf"
	start_agent e1 --interval 5s
	wait_for "$RULES/err" "agent: 1 rules"
	sleep 0.3
	hold e1 "host=127.0.0.1 user=ev_b dbname=postgres" 3 idle "$e1_dir/run/b"
	sleep 0.5
	for p in $(pids_of "$e1_dir/run/b"); do alive "$p"; done
	stop_agent
	grep "forks and" "$RULES/err"
	forks=$(sed -n 's/.*; \([0-9]*\) forks and.*/\1/p' "$RULES/err")
	evpasses=$(sed -n 's/.* \([0-9]*\) passes on events.*/\1/p' "$RULES/err")
	[ "$forks" -ge 3 ]
	[ "$evpasses" -eq 0 ]
	[ ! -s "$RULES/out" ]
}

# A real refusal: the kernel serves the proc connector in the initial
# network namespace only (and, before Linux 6.6, to CAP_NET_ADMIN only:
# since 6.6 any user may listen, so a bounding set without it refuses
# nothing on a new kernel).  An agent in a network namespace of its own
# (an unprivileged container's) is refused.
@test "events refused (its own network namespace): the agent says so once and still acts at its interval" {
	need_root
	command -v unshare >/dev/null || skip "no unshare (util-linux)"
	cat >"$RULES/one.conf" <<-EOF
	[one-per-role]
	match = --user ev_c
	action = terminate
	keep = 1
	EOF
	hold e1 "host=127.0.0.1 user=ev_c dbname=postgres" 1 idle "$e1_dir/run/c1"
	start_agent e1 unshare -n -- --interval 2s
	wait_for "$RULES/err" "agent: 1 rules"
	[ "$(grep -c "no process events" "$RULES/err")" -eq 1 ]
	grep "no process events (" "$RULES/err"
	grep -q "no process events (.*): polling alone, a pass every 2000ms" "$RULES/err"
	sleep 0.3
	hold e1 "host=127.0.0.1 user=ev_c dbname=postgres" 1 idle "$e1_dir/run/c2"
	pid=$(pids_of "$e1_dir/run/c2")
	wait_for "$RULES/out" "\"pid\":$pid" 60
	refute alive "$pid"
	alive "$(pids_of "$e1_dir/run/c1")"
	kill -HUP "$AGENT"
	wait_for "$RULES/err" "reload: 1 rules"
	stop_agent
	[ "$(grep -c "no process events" "$RULES/err")" -eq 1 ]
}

@test "events: SIGHUP reloads (new rules act on the next connect), SIGTERM stops with exit 0" {
	need_root
	printf '[one]\nmatch = --user ev_a\naction = terminate\nkeep = 1\n' >"$RULES/one.conf"
	hold e1 "host=127.0.0.1 user=ev_b dbname=postgres" 1 idle "$e1_dir/run/b1"
	start_agent e1 --interval 5s
	wait_for "$RULES/err" "agent: 1 rules"
	printf '[two]\nmatch = --user ev_b\naction = terminate\nkeep = 1\n' >"$RULES/two.conf"
	kill -HUP "$AGENT"
	wait_for "$RULES/err" "reload: 2 rules"
	sleep 0.2
	ms=$(session_ms ev_b)
	echo "ended ${ms}ms after its client started"
	[ "$ms" -lt 1000 ]
	alive "$(pids_of "$e1_dir/run/b1")"
	stop_agent
	grep -q "agent: stopping after" "$RULES/err"
}

@test "events: a match rule on the state (--state idle) acts as the new session leaves authentication" {
	need_root
	printf '[idle-c]\nmatch = --user ev_c --state idle\naction = terminate\n' >"$RULES/idle.conf"
	start_agent e1 --interval 5s
	wait_for "$RULES/err" "agent: 1 rules"
	sleep 0.3
	for i in 1 2; do
		t0=$(date +%s%N)
		hold e1 "host=127.0.0.1 user=ev_c dbname=postgres" 1 idle "$e1_dir/run/idle$i"
		pid=$(pids_of "$e1_dir/run/idle$i")
		for _ in $(seq 1 500); do alive "$pid" || break; sleep 0.01; done
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		echo "idle session $i ended ${ms}ms after its client started"
		[ "$ms" -lt 1000 ]
	done
	[ "$(grep -c '"rule":"idle-c"' "$RULES/out")" -eq 2 ]
	stop_agent
}
