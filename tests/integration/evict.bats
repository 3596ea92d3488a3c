#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The eviction ladder on real clusters: terminate, cancel, sever, dry run,
# a stopped backend, every slot taken.  After each test the postmaster must
# never have reset the cluster.

load common

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	pgt_cluster_create e1 "max_connections=12" "superuser_reserved_connections=2" || return 1
	pgt_sql e1 "create role u1 login; create role u2 login; create role u3 login" >/dev/null
	# Unix-socket sessions of the test roles, opened by the postgres OS user
	sed -i '1i local all u1,u2,u3 trust' "$e1_data/pg_hba.conf"
	pgt_sql e1 "select pg_reload_conf()" >/dev/null
	export e1_dir e1_data e1_sock e1_port e1_name e1_log
}

teardown_file() {
	pgt_cleanup
}

setup() {
	need_root
	PM=$(head -n 1 "$e1_data/postmaster.pid")
	AUX_BEFORE=$(pgrep -P "$PM" | sort | tr '\n' ' ')
}

# The postmaster is the same process and never reset the cluster.
no_reset() {
	[ "$(head -n 1 "$e1_data/postmaster.pid")" = "$PM" ]
	kill -0 "$PM"
	refute grep -q "terminating any other active server processes" "$e1_log"
}

@test "terminate --user ends exactly those sessions: others, auxiliary processes and the postmaster stay" {
	pgt_hold e1 "host=127.0.0.1 user=u1 dbname=postgres" 2 idle "$e1_dir/run/t1"
	h1=$PGT_HOLD_PID
	PGT_OSUSER=postgres pgt_hold e1 "host=$e1_sock user=u1 dbname=postgres" 1 xact "$e1_dir/run/t1u"
	hu=$PGT_HOLD_PID
	pgt_hold e1 "host=::1 user=u1 dbname=postgres" 1 active "$e1_dir/run/t1v6"
	h2=$PGT_HOLD_PID
	pgt_hold e1 "host=127.0.0.1 user=u2 dbname=postgres" 2 idle "$e1_dir/run/t2"
	h3=$PGT_HOLD_PID
	aux=$(pgrep -P "$PM" | sort)
	run "$PGEVICT" --cluster "$e1_port" terminate --user u1 --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r .outcome | sort -u)" = gone ]
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 4 ]
	for p in $(pids_of "$e1_dir/run/t1") $(pids_of "$e1_dir/run/t1v6") $(pids_of "$e1_dir/run/t1u"); do refute alive "$p"; done
	for p in $(pids_of "$e1_dir/run/t2"); do alive "$p"; done
	# every other child of the postmaster is still the same process
	for p in $aux; do
		grep -qw "$p" <(pids_of "$e1_dir/run/t1"; pids_of "$e1_dir/run/t1v6"; pids_of "$e1_dir/run/t1u") || alive "$p"
	done
	no_reset
	pgt_release "$h1"; pgt_release "$h2"; pgt_release "$h3"; pgt_release "$hu"
}

@test "dry run changes nothing and lists the plan" {
	pgt_hold e1 "host=127.0.0.1 user=u3 dbname=postgres" 2 idle "$e1_dir/run/dry"
	run "$PGEVICT" --cluster "$e1_port" terminate --user u3 --dry-run --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r .outcome | sort -u)" = planned ]
	[ "$(printf '%s\n' "$output" | jq -r .step | sort -u)" = "sql,signal,destroy,rst" ]
	for p in $(pids_of "$e1_dir/run/dry"); do alive "$p"; done
	[ "$(pgt_sql e1 "select count(*) from pg_stat_activity where usename = 'u3'")" -eq 2 ]
	pgt_release "$PGT_HOLD_PID"
}

@test "no selector refuses (exit 2); a selector that matches nothing exits 0 and says so" {
	run "$PGEVICT" --cluster "$e1_port" terminate
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	run "$PGEVICT" --cluster "$e1_port" terminate --user nobody_here
	[ "$status" -eq 0 ]
	[[ "$output" == *"no session matches"* ]]
}

@test "cancel stops an active query and leaves the session; an idle session has nothing to cancel" {
	pgt_hold e1 "host=127.0.0.1 user=u2 dbname=postgres" 1 active "$e1_dir/run/act"
	ha=$PGT_HOLD_PID
	pgt_hold e1 "host=127.0.0.1 user=u2 dbname=postgres" 1 idle "$e1_dir/run/idl"
	hi=$PGT_HOLD_PID
	read -r apid _ <"$e1_dir/run/act"
	read -r ipid _ <"$e1_dir/run/idl"
	run "$PGEVICT" --cluster "$e1_port" cancel --pid "$apid" --pid "$ipid" --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r --argjson p "$apid" 'select(.pid == $p) | .outcome')" = cancelled ]
	[ "$(printf '%s\n' "$output" | jq -r --argjson p "$ipid" 'select(.pid == $p) | .outcome')" = idle ]
	alive "$apid"
	alive "$ipid"
	[ "$(pgt_sql e1 "select state from pg_stat_activity where pid = $apid")" = idle ]
	no_reset
	pgt_release "$ha"; pgt_release "$hi"
}

@test "a stopped backend ignores SQL and SIGTERM: the ladder cuts its client, outcome severed, exit 3" {
	pgt_hold e1 "host=127.0.0.1 user=u2 dbname=postgres" 1 idle "$e1_dir/run/stop"
	h=$PGT_HOLD_PID
	read -r spid sport <"$e1_dir/run/stop"
	kill -STOP "$spid"
	run "$PGEVICT" --cluster "$e1_port" terminate --pid "$spid" --step-timeout 300ms --json
	kill -CONT "$spid"
	[ "$status" -eq 3 ]
	[ "$(jq -r .outcome <<<"$output")" = severed ]
	[ "$(jq -r .step <<<"$output")" = destroy ]
	[[ "$(jq -r .note <<<"$output")" == *"state T"* ]]
	# the client's connection is gone from the kernel
	refute grep -q ESTAB <<<"$(ss -Htn "( sport = :$sport )")"
	# and once it runs again the backend ends (SIGTERM is pending)
	for _ in $(seq 50); do alive "$spid" || break; sleep 0.1; done
	refute alive "$spid"
	no_reset
	pgt_release "$h"
}

@test "sever cuts the connection of TCP v4 and v6 sessions without a signal" {
	pgt_hold e1 "host=::1 user=u3 dbname=postgres" 1 idle "$e1_dir/run/sv6"
	h6=$PGT_HOLD_PID
	pgt_hold e1 "host=127.0.0.1 user=u3 dbname=postgres" 1 idle "$e1_dir/run/sv4"
	h4=$PGT_HOLD_PID
	run "$PGEVICT" --cluster "$e1_port" sever --user u3 --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r .step | sort -u)" = destroy ]
	[ "$(printf '%s\n' "$output" | jq -r .outcome | sort -u)" = gone ]
	# the backends woke on the aborted socket and exited
	for p in $(pids_of "$e1_dir/run/sv6") $(pids_of "$e1_dir/run/sv4"); do refute alive "$p"; done
	no_reset
	pgt_release "$h6"; pgt_release "$h4"
}

@test "a Unix-socket session is terminated, and sever says it cannot cut one" {
	PGT_OSUSER=postgres pgt_hold e1 "host=$e1_sock user=u3 dbname=postgres" 1 idle "$e1_dir/run/unix"
	h=$PGT_HOLD_PID
	read -r upid _ <"$e1_dir/run/unix"
	run "$PGEVICT" --cluster "$e1_port" sever --pid "$upid" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = skipped ]
	[[ "$(jq -r .note <<<"$output")" == *"Unix-socket"* ]]
	alive "$upid"
	run "$PGEVICT" --cluster "$e1_port" terminate --pid "$upid" --via signal --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = gone ]
	[ "$(jq -r .step <<<"$output")" = signal ]
	refute alive "$upid"
	no_reset
	pgt_release "$h"
}

@test "a Unix-socket session: the plan notes it cannot be cut on the network; ended by the sql step, no such note" {
	PGT_OSUSER=postgres pgt_hold e1 "host=$e1_sock user=u3 dbname=postgres" 1 idle "$e1_dir/run/unixsql"
	h=$PGT_HOLD_PID
	read -r upid _ <"$e1_dir/run/unixsql"
	run "$PGEVICT" --cluster "$e1_port" terminate --pid "$upid" --dry-run --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = planned ]
	[[ "$(jq -r .note <<<"$output")" == *"cannot be cut on the network"* ]]
	run "$PGEVICT" --cluster "$e1_port" terminate --pid "$upid" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = gone ]
	[ "$(jq -r .step <<<"$output")" = sql ]
	[ "$(jq -r .note <<<"$output")" = null ]
	refute alive "$upid"
	run "$PGEVICT" --cluster "$e1_port" terminate --pid "$upid"
	[ "$status" -eq 0 ]
	refute grep -q "cannot be cut" <<<"$output"
	no_reset
	pgt_release "$h"
}

@test "a walsender not named by --pid: the dry run says skipped, as the real run does, and it stays" {
	pgt_hold e1 "host=127.0.0.1 user=postgres dbname=postgres replication=database" 1 idle "$e1_dir/run/ws"
	h=$PGT_HOLD_PID
	read -r wpid _ <"$e1_dir/run/ws"
	[ "$(pgt_sql e1 "select backend_type from pg_stat_activity where pid = $wpid")" = walsender ]
	run "$PGEVICT" --cluster "$e1_port" terminate --user postgres --client 127.0.0.1 --dry-run --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r "select(.pid == $wpid) | .outcome")" = skipped ]
	[[ "$(printf '%s\n' "$output" | jq -r "select(.pid == $wpid) | .note")" == *"walsender"* ]]
	run "$PGEVICT" --cluster "$e1_port" terminate --user postgres --client 127.0.0.1 --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r "select(.pid == $wpid) | .outcome")" = skipped ]
	alive "$wpid"
	no_reset
	pgt_release "$h"
}

@test "every slot taken, the superuser's too: terminate still works through signals, exit 0" {
	used=$(pgt_sql e1 "select count(*) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()")
	free=$((12 - 2 - used))
	pgt_hold e1 "host=127.0.0.1 user=u1 dbname=postgres" "$free" idle "$e1_dir/run/full"
	hu=$PGT_HOLD_PID
	PGT_OSUSER=postgres pgt_hold e1 "host=$e1_sock user=postgres dbname=postgres" 2 idle "$e1_dir/run/fullsu"
	hs=$PGT_HOLD_PID
	run pgt_sql e1 "select 1"
	[ "$status" -ne 0 ]
	run "$PGEVICT" --cluster "$e1_port" terminate --user u1 --json
	[ "$status" -eq 0 ]
	out=$(printf '%s\n' "${lines[@]}" | grep '^{')
	[ "$(printf '%s\n' "$out" | jq -r .outcome | sort -u)" = gone ]
	[ "$(printf '%s\n' "$out" | jq -r .step | sort -u)" = signal ]
	[[ "$(printf '%s\n' "$out" | jq -r .note | head -n 1)" == *"too many clients"* ]]
	for p in $(pids_of "$e1_dir/run/full"); do refute alive "$p"; done
	no_reset
	pgt_release "$hu"; pgt_release "$hs"
}

@test "terminate --cancel-first cancels the query, then ends the session" {
	pgt_hold e1 "host=127.0.0.1 user=u2 dbname=postgres" 1 active "$e1_dir/run/cf"
	h=$PGT_HOLD_PID
	read -r cpid _ <"$e1_dir/run/cf"
	run "$PGEVICT" --cluster "$e1_port" terminate --pid "$cpid" --cancel-first --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = gone ]
	refute alive "$cpid"
	grep -q "\[$cpid\] ERROR:  canceling statement due to user request" "$e1_log"
	no_reset
	pgt_release "$h"
}

@test "bad action options exit 2 with one line" {
	for args in "--via sql,bogus" "--via rst,rst" "--step-timeout 0ms" "--step-timeout 5"; do
		# shellcheck disable=SC2086
		run "$PGEVICT" terminate --all $args
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 1 ]
	done
	run "$PGEVICT" cancel --all --via destroy
	[ "$status" -eq 2 ]
	run "$PGEVICT" ls --dry-run
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
}
