#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Headroom rules on a real cluster (max_connections = 12,
# superuser_reserved_connections = 2: 10 slots for ordinary roles).  With
# `free = 3` the agent on process events keeps at least 3 of them free:
# ordinary idle sessions beyond that are ended as they come, just enough of
# them, the longest idle first, each action line naming the rule and the
# slots; a probe login as an ordinary role then gets in.  A superuser's
# idle session and a walsender are never ended (the walsender takes no
# slot: since PostgreSQL 12 it has max_wal_senders' own).  `order`:
# idle-longest and oldest choose different sessions.  --check refuses what
# makes no sense (keep with free, cancel, free = 0).

load common
bats_require_minimum_version 1.5.0

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	pgt_cluster_create h1 max_connections=12 superuser_reserved_connections=2 || return 1
	pgt_sql h1 "create role hr_a login" >/dev/null || return 1
	pgt_sql h1 "create role hr_probe login" >/dev/null || return 1
	pgt_sql h1 "create role hr_repl login replication" >/dev/null || return 1
	export h1_dir h1_data h1_sock h1_port h1_name h1_log
}

teardown_file() {
	pgt_cleanup
}

setup() {
	agent_setup
}

teardown() {
	local p
	agent_teardown
	[ -z "${RECV:-}" ] || { kill -TERM "$RECV" 2>/dev/null; wait "$RECV" 2>/dev/null; } || true
	RECV=
	pgt_cleanup
	# clients started in subshells (order_case's a1): by pid, while the
	# start time says it is the same process
	local start
	while read -r p start; do
		[ "$(cut -d' ' -f22 "/proc/$p/stat" 2>/dev/null)" = "$start" ] || continue
		kill -TERM "$p" 2>/dev/null || true
	done <"$h1_dir/run/pids"
	: >"$h1_dir/run/pids"
	# every session of this test gone before the next one counts slots
	for _ in $(seq 1 50); do
		[ "$(pgt_sql h1 "select count(*) from pg_stat_activity where usename like 'hr_%'")" = 0 ] && break
		sleep 0.1
	done
}

# The ordinary slots left, as PostgreSQL counts them: 10 less the client
# backends (this psql's own excluded).
free_slots() {
	local n
	n=$(pgt_sql h1 "select count(*) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()")
	echo $(( 10 - n ))
}

# A walsender, if pg_receivewal can make one cheaply; RECV its pid.
start_walsender() {
	local bin
	bin=$(pgt_bindir)
	[ -x "$bin/pg_receivewal" ] || return 1
	mkdir -p "$h1_dir/run/wal"
	"$bin/pg_receivewal" -D "$h1_dir/run/wal" -h 127.0.0.1 -p "$h1_port" -U hr_repl -n -w \
		</dev/null >/dev/null 2>"$h1_dir/run/receivewal.log" 3>&- 4>&- &
	RECV=$!
	pgt_track h1 "$RECV"
	for _ in $(seq 1 50); do
		[ "$(pgt_sql h1 "select count(*) from pg_stat_activity where backend_type = 'walsender'")" -ge 1 ] && return 0
		sleep 0.1
	done
	cat "$h1_dir/run/receivewal.log" >&2
	return 1
}

@test "headroom: free = 3 keeps 3 slots free as sessions come; a probe gets in; superuser and walsender stay" {
	need_root
	printf '[room]\nfree = 3\n' >"$RULES/room.conf"
	hold h1 "host=127.0.0.1 user=postgres dbname=postgres" 1 idle "$h1_dir/run/su"
	walsender=0
	if start_walsender; then walsender=1; else echo "# no walsender: pg_receivewal could not start one (see above)" >&3; fi
	start_agent h1 --interval 5s
	wait_for "$RULES/err" "agent: 1 rules"
	grep -q "process events: new sessions are judged" "$RULES/err" || echo "# no process events here: the periodic pass acts" >&3
	# 1 superuser + 6 ordinary: 3 free; each one more must end one
	for i in 1 2 3 4 5 6 7 8 9; do
		hold h1 "host=127.0.0.1 user=hr_a dbname=postgres" 1 idle "$h1_dir/run/a$i"
		sleep 0.15
	done
	# 3 ended: a1, a2, a3 (idle longest), and no more
	for i in 1 2 3; do
		wait_for "$RULES/out" "\"pid\":$(pids_of "$h1_dir/run/a$i")," 100
	done
	sleep 1
	[ "$(grep -c '"rule":"room"' "$RULES/out")" -eq 3 ]
	[ "$(grep -c '"outcome":"gone"' "$RULES/out")" -eq 3 ]
	grep -q '"note":"slots 8/12, 2 free < 3"' "$RULES/out"
	for i in 1 2 3; do refute alive "$(pids_of "$h1_dir/run/a$i")"; done
	for i in 4 5 6 7 8 9; do alive "$(pids_of "$h1_dir/run/a$i")"; done
	alive "$(pids_of "$h1_dir/run/su")"
	[ "$(free_slots)" -ge 3 ]
	# a probe as an ordinary role gets in
	run "$(pgt_bindir)/psql" -X -At "host=127.0.0.1 port=$h1_port user=hr_probe dbname=postgres" -c "select 1"
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
	if [ "$walsender" = 1 ]; then
		alive "$RECV"
		[ "$(pgt_sql h1 "select count(*) from pg_stat_activity where backend_type = 'walsender'")" -ge 1 ]
	fi
	stop_agent
}

# order_case ORDER: a session started first but idle last (a1: it sleeps
# 2 s first), then a2..a8 and a superuser's: 9 client backends, 1 free.
# The agent, started then, must end 2.
order_case() {
	printf '[room]\nfree = 3\norder = %s\n' "$1" >"$RULES/room.conf"
	hold h1 "host=127.0.0.1 user=postgres dbname=postgres" 1 idle "$h1_dir/run/su"
	sleep 0.2
	PGT_HOLD_SQL="select pg_sleep(2)" pgt_hold h1 "host=127.0.0.1 user=hr_a dbname=postgres" 1 idle "$h1_dir/run/a1" &
	bg=$!
	for _ in $(seq 1 50); do
		[ "$(pgt_sql h1 "select count(*) from pg_stat_activity where usename = 'hr_a'")" -ge 1 ] && break
		sleep 0.1
	done
	sleep 0.2
	for i in 2 3 4 5 6 7 8; do
		hold h1 "host=127.0.0.1 user=hr_a dbname=postgres" 1 idle "$h1_dir/run/a$i"
		sleep 0.1
	done
	wait "$bg"
	[ -s "$h1_dir/run/a1.ready" ]
	[ "$(free_slots)" -eq 1 ]
	start_agent h1 --interval 5s
	wait_for "$RULES/err" "agent: 1 rules"
	wait_for "$RULES/out" '"rule":"room"'
	sleep 1
	[ "$(grep -c '"rule":"room"' "$RULES/out")" -eq 2 ]
	alive "$(pids_of "$h1_dir/run/su")"
	[ "$(free_slots)" -eq 3 ]
}

@test "headroom: order = idle-longest ends the longest idle first (not the oldest)" {
	need_root
	order_case idle-longest
	for i in 2 3; do grep -q "\"pid\":$(pids_of "$h1_dir/run/a$i")," "$RULES/out"; done
	alive "$(pids_of "$h1_dir/run/a1")"
}

@test "headroom: order = oldest ends the oldest first" {
	need_root
	order_case oldest
	for i in 1 2; do grep -q "\"pid\":$(pids_of "$h1_dir/run/a$i")," "$RULES/out"; done
	alive "$(pids_of "$h1_dir/run/a3")"
}

@test "headroom: slots without SQL (from the configuration); superuser-ness unknown never matches" {
	need_root
	printf '[room]\nfree = 3\n' >"$RULES/room.conf"
	for i in 1 2 3 4 5 6 7 8; do
		hold h1 "host=127.0.0.1 user=hr_a dbname=postgres" 1 idle "$h1_dir/run/a$i"
	done
	[ "$(free_slots)" -eq 2 ]
	# never SQL: nobody is known not to be a superuser, so nothing ends
	run "$PGEVICT" --cluster "$h1_port" agent --no-sql --rules "$RULES" --once --json
	[ ! -s "$RULES/out" ]
	[[ "$output" != *'"rule":"room"'* ]]
	for i in 1 2 3 4 5 6 7 8; do alive "$(pids_of "$h1_dir/run/a$i")"; done
	# a match naming the user needs no superuser-ness: ends 1, the slots
	# counted from /proc against the configuration's max_connections
	printf '[room]\nfree = 3\nmatch = --user hr_a --state idle\n' >"$RULES/room.conf"
	run "$PGEVICT" --cluster "$h1_port" agent --no-sql --rules "$RULES" --once --json
	echo "$output"
	[ "$(grep -c '"rule":"room"' <<<"$output")" -eq 1 ]
	[[ "$output" == *'slots 8/12, 2 free < 3'* ]]
}

@test "headroom --check: free with keep or per, action = cancel, free = 0, order without free are refused" {
	printf '[a]\nfree = 3\nkeep = 1\n' >"$RULES/a.conf"
	printf '[b]\nfree = 3\naction = cancel\n' >"$RULES/b.conf"
	printf '[c]\nfree = 0\n' >"$RULES/c.conf"
	printf '[d]\nmatch = --all\naction = terminate\norder = newest\n' >"$RULES/d.conf"
	printf '[e]\nfree = 2\nper = user\n' >"$RULES/e.conf"
	run "$PGEVICT" agent --rules "$RULES" --check
	[ "$status" -eq 2 ]
	[[ "$output" == *"a.conf:3: [a]: keep does not go with free"* ]]
	[[ "$output" == *"b.conf:3: [b]: cancel makes no room"* ]]
	[[ "$output" == *"c.conf:2: bad free '0'"* ]]
	[[ "$output" == *"d.conf:4: order needs free = N"* ]]
	[[ "$output" == *"e.conf:3: [e]: per does not go with free"* ]]
	rm "$RULES"/*.conf
	printf '[room]\nfree = 5\norder = oldest\n' >"$RULES/room.conf"
	run "$PGEVICT" agent --rules "$RULES" --check
	[ "$status" -eq 0 ]
	[[ "$output" == *"[room] terminate --state idle (keeps 5 slots free, ending the oldest first)"* ]]
}
