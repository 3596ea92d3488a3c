#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# SQL never leaks a secret and never hangs.  Fake servers (the fakepg
# helper) ask for a cleartext or MD5 password and record what they get,
# let the client in and then never answer, or never send a byte; root has
# PGPASSWORD, PGPASSFILE and a ~/.pgpass.  pgevict sends no secret, every
# command finishes within its deadlines, and the agent stops within 2 s of
# SIGTERM or SIGINT while it waits on such a server.  A real cluster that
# asks for a password gets none and logs no failed attempt; a socket that
# is not the cluster owner's is not connected to.

load common

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	pgt_cluster_create h1 || return 1
	pgt_sql h1 "create role hs_a login" >/dev/null || return 1
	export h1_dir h1_data h1_sock h1_port h1_name h1_log
	# h2 asks every local connection for a password
	pgt_cluster_create h2 || return 1
	sed -i 's/^\(local[[:space:]].*[[:space:]]\)peer$/\1password/' "$h2_data/pg_hba.conf"
	grep -Eq '^local[[:space:]].*password$' "$h2_data/pg_hba.conf" || return 1
	pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "$h2_data" reload >/dev/null || return 1
	export h2_dir h2_data h2_sock h2_port h2_name h2_log
}

teardown_file() {
	pgt_cleanup
}

setup() {
	need_root
	D=$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/hsql.XXXXXX")
	FPORT=6543
	FAKE=
	FAKEDIR=
	AGENT=
	HOLDS=()
	# root's password sources, all of them
	mkdir -m 700 "$D/home"
	echo '*:*:*:*:secret2' >"$D/home/.pgpass"
	echo '*:*:*:*:secret3' >"$D/pgpass"
	chmod 600 "$D/home/.pgpass" "$D/pgpass"
	touch "$D/record"
}

teardown() {
	local p
	[ -z "${AGENT:-}" ] || { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; } || true
	[ -z "${FAKE:-}" ] || { kill -TERM "$FAKE" 2>/dev/null; wait "$FAKE" 2>/dev/null; } || true
	for p in "${HOLDS[@]}"; do pgt_release "$p"; done
	[ -z "${MOVED:-}" ] || mv -f "$MOVED" "$h1_sock/.s.PGSQL.$h1_port"
	[ -z "${FAKEDIR:-}" ] || rm -rf "$FAKEDIR"
}

# start_fake MODE [SOCKET]: a fakepg in MODE on $D/.s.PGSQL.$FPORT (or
# SOCKET), recording to $D/record; waits until it listens.
start_fake() {
	local sock=${2:-$D/.s.PGSQL.$FPORT} i
	"$PGT_HELPERS/fakepg" -r "$D/record" "$1" "$sock" </dev/null >/dev/null 2>"$D/fake.err" 3>&- 4>&- &
	FAKE=$!
	pgt_track h1 "$FAKE"
	for i in $(seq 1 100); do
		[ -S "$sock" ] && return 0
		sleep 0.05
	done
	cat "$D/fake.err" >&2
	return 1
}

# secretly ARGS: run ARGS with every password source root could have.
secretly() {
	env PGPASSWORD=secret1 PGPASSFILE="$D/pgpass" HOME="$D/home" "$@"
}

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

@test "the fake server records what a client that has a password sends (the test can see a leak)" {
	start_fake password
	secretly timeout 20 "$(pgt_bindir)/psql" -X -h "$D" -p "$FPORT" -U y -d x -c 'select 1' >/dev/null 2>&1 || true
	[ "$(grep -c secret1 "$D/record")" -eq 1 ]
}

@test "a server that asks for a cleartext or MD5 password gets no secret from ls --dsn" {
	local mode
	for mode in password md5; do
		: >"$D/record"
		start_fake "$mode"
		run secretly timeout 60 "$PGEVICT" --cluster "$h1_port" --dsn "host=$D port=$FPORT dbname=x user=y" ls
		echo "$mode: $output"
		[ "$status" -eq 0 ]
		[[ "$output" == *"no SQL for cluster"*"no password supplied"* ]]
		[[ "$output" != *WARNING* ]]
		[ "$(grep -c secret "$D/record")" -eq 0 ]
		kill -TERM "$FAKE"
		wait "$FAKE"
		FAKE=
	done
}

@test "a server that lets pgevict in and never answers: ls gives up after 5 s, says so" {
	start_fake silent
	t0=$(date +%s%N)
	run secretly timeout 60 "$PGEVICT" --cluster "$h1_port" --dsn "host=$D port=$FPORT dbname=x user=y" ls
	ms=$(ms_since "$t0")
	echo "$ms ms: $output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no SQL for cluster"*"server did not answer within 5 s"* ]]
	[ "$ms" -ge 4500 ]
	[ "$ms" -lt 15000 ]
}

@test "a server that never sends a byte: ls gives up after 3 s, says so" {
	start_fake mute
	t0=$(date +%s%N)
	run secretly timeout 60 "$PGEVICT" --cluster "$h1_port" --dsn "host=$D port=$FPORT dbname=x user=y" ls
	ms=$(ms_since "$t0")
	echo "$ms ms: $output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no SQL for cluster"*"server did not answer within 3 s"* ]]
	[ "$ms" -lt 15000 ]
}

@test "terminate --pid with --dsn at a silent or mute server still ends the session, within its deadlines" {
	local mode pid
	for mode in silent mute; do
		start_fake "$mode"
		hold h1 "host=127.0.0.1 user=hs_a dbname=postgres" 1 idle "$h1_dir/run/t_$mode"
		read -r pid _ <"$h1_dir/run/t_$mode"
		t0=$(date +%s%N)
		run timeout 60 "$PGEVICT" --cluster "$h1_port" --dsn "host=$D port=$FPORT dbname=x user=y" \
			terminate --pid "$pid" --json
		ms=$(ms_since "$t0")
		echo "$mode, $ms ms: $output"
		[ "$status" -eq 0 ]
		printf '%s\n' "$output" | grep '^{' | jq -e --argjson p "$pid" 'select(.pid == $p) | .outcome == "gone"'
		run kill -0 "$pid"
		[ "$status" -ne 0 ]
		[ "$ms" -lt 15000 ]
		kill -TERM "$FAKE"
		wait "$FAKE"
		FAKE=
	done
}

# agent_stops MODE SIGNAL: an agent with --dsn at a MODE fake, waiting on
# it, gets SIGNAL: it exits 0 within 2 s.
agent_stops() {
	start_fake "$1"
	mkdir -m 755 "$D/rules"
	printf '[never]\nmatch = --user no_such_role_hs\naction = terminate\n' >"$D/rules/a.conf"
	"$PGEVICT" --cluster "$h1_port" --dsn "host=$D port=$FPORT dbname=x user=y" agent --rules "$D/rules" \
		--interval 1s >"$D/out" 2>"$D/err" </dev/null 3>&- 4>&- &
	AGENT=$!
	pgt_track h1 "$AGENT"
	local i
	for i in $(seq 1 100); do
		grep -q "agent: 1 rules" "$D/err" && break
		sleep 0.1
	done
	grep -q "agent: 1 rules" "$D/err"
	# the first pass now waits on the server (up to 3 s or 5 s)
	sleep 1
	# it is connected to the fake: the fake has a client
	ss -xH state connected | grep -qF "$D/.s.PGSQL.$FPORT"
	t0=$(date +%s%N)
	kill "-$2" "$AGENT"
	rc=0
	timeout 10 tail --pid="$AGENT" -f /dev/null || true
	ms=$(ms_since "$t0")
	wait "$AGENT" || rc=$?
	AGENT=
	echo "$1 $2: $ms ms, rc $rc"
	cat "$D/err"
	[ "$rc" -eq 0 ]
	[ "$ms" -lt 2000 ]
	grep -q "agent: stopping after" "$D/err"
}

@test "the agent waiting on a silent server stops within 2 s of SIGTERM" {
	agent_stops silent TERM
}

@test "the agent waiting on a mute server stops within 2 s of SIGINT" {
	agent_stops mute INT
}

@test "the agent waiting on a silent server goes on after SIGHUP, and stops within 2 s of SIGTERM" {
	start_fake silent
	mkdir -m 755 "$D/rules"
	printf '[never]\nmatch = --user no_such_role_hs\naction = terminate\n' >"$D/rules/a.conf"
	"$PGEVICT" --cluster "$h1_port" --dsn "host=$D port=$FPORT dbname=x user=y" agent --rules "$D/rules" \
		--interval 1s >"$D/out" 2>"$D/err" </dev/null 3>&- 4>&- &
	AGENT=$!
	pgt_track h1 "$AGENT"
	for i in $(seq 1 100); do
		grep -q "agent: 1 rules" "$D/err" && break
		sleep 0.1
	done
	sleep 1
	kill -HUP "$AGENT"
	for i in $(seq 1 100); do
		grep -q "reload: 1 rules" "$D/err" && break
		sleep 0.1
	done
	cat "$D/err"
	grep -q "reload: 1 rules" "$D/err"
	# the wait was given up by the deadline, not by the SIGHUP
	grep -q "server did not answer within 5 s" "$D/err"
	kill -0 "$AGENT"
	sleep 1
	t0=$(date +%s%N)
	kill -TERM "$AGENT"
	rc=0
	wait "$AGENT" || rc=$?
	ms=$(ms_since "$t0")
	AGENT=
	[ "$rc" -eq 0 ]
	[ "$ms" -lt 2000 ]
}

@test "a real cluster that asks for a password: ls works from /proc alone, sends none, logs no failed attempt" {
	local pid off
	hold h2 "host=127.0.0.1 user=postgres dbname=postgres" 1 idle "$h2_dir/run/pw"
	read -r pid _ <"$h2_dir/run/pw"
	off=$(stat -c %s "$h2_log")
	run secretly timeout 60 "$PGEVICT" --cluster "$h2_port" ls --pid "$pid"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no SQL for cluster"*"no password supplied"* ]]
	printf '%s\n' "$output" | grep -Eq "^ *$pid "
	sleep 0.5
	run grep -c "password authentication failed" <(tail -c +"$((off + 1))" "$h2_log")
	[ "$output" = 0 ]
	# a client that does send root's password is logged: the check can fail
	secretly timeout 20 "$(pgt_bindir)/psql" -X -h "$h2_sock" -p "$h2_port" -U postgres -d postgres \
		-c 'select 1' >/dev/null 2>&1 || true
	sleep 0.5
	grep -q "password authentication failed" <(tail -c +"$((off + 1))" "$h2_log")
}

@test "a socket that is not the cluster owner's is not connected to" {
	MOVED="$h1_sock/.s.PGSQL.$h1_port.moved"
	mv "$h1_sock/.s.PGSQL.$h1_port" "$MOVED"
	# root's own server on the cluster's socket path, one that would
	# hold a client for 3 s
	start_fake mute "$h1_sock/.s.PGSQL.$h1_port"
	t0=$(date +%s%N)
	run secretly timeout 60 "$PGEVICT" --cluster "$h1_port" ls
	ms=$(ms_since "$t0")
	echo "$ms ms: $output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no SQL for cluster"*"is owned by uid 0, not by the cluster's owner"* ]]
	# nothing connected to it
	[ "$ms" -lt 2500 ]
	kill -TERM "$FAKE"
	wait "$FAKE"
	FAKE=
	# a symlink to the real socket is no socket either
	ln -s "$MOVED" "$h1_sock/.s.PGSQL.$h1_port"
	run secretly timeout 60 "$PGEVICT" --cluster "$h1_port" ls
	echo "$output"
	rm "$h1_sock/.s.PGSQL.$h1_port"
	mv "$MOVED" "$h1_sock/.s.PGSQL.$h1_port"
	MOVED=
	[[ "$output" == *"no SQL for cluster"*"is not a socket"* ]]
	# and the real one works again
	run "$PGEVICT" --cluster "$h1_port" ls
	[ "$status" -eq 0 ]
	[[ "$output" != *"no SQL"* ]]
}

@test "a fake postmaster run by nobody whose postmaster.pid points at a password-asking server: a plain ls, clusters and ls --all send it nothing" {
	id nobody >/dev/null 2>&1 || skip "needs the nobody account"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	local fd i pid
	# a directory nobody can reach (the bats one is root's alone)
	fd=$(mktemp -d /tmp/pgevict-hsql.XXXXXX)
	FAKEDIR=$fd
	chmod 755 "$fd"
	mkdir -m 755 "$fd/data" "$fd/sock"
	touch "$fd/record"
	chown nobody:nogroup "$fd/data" "$fd/sock" "$fd/record"
	chmod 700 "$fd/data"
	# nobody's own password-asking server on the socket directory the
	# fake's postmaster.pid names
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$PGT_HELPERS/fakepg" -r "$fd/record" password "$fd/sock/.s.PGSQL.$FPORT" \
		</dev/null >/dev/null 2>"$D/fake.err" 3>&- 4>&- &
	FAKE=$!
	pgt_track h1 "$FAKE"
	# the fake postmaster: its own pid, its directory, the fake port and
	# socket directory, one child titled like a checkpointer
	# shellcheck disable=SC2016
	setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c '
		cd "$1" || exit 1
		printf "%s\n%s\n%s\n%s\n%s\n%s\n  0 0\nready   \n" $$ "$PWD" "$(date +%s)" "$2" "$3" 127.0.0.1 >postmaster.pid
		(exec -a "postgres: fake: checkpointer " sleep 120) &
		echo $! >child
		wait' fake "$fd/data" "$FPORT" "$fd/sock" </dev/null >/dev/null 2>&1 3>&- 4>&- &
	pid=$!
	pgt_track h1 "$pid"
	for i in $(seq 1 100); do
		[ -S "$fd/sock/.s.PGSQL.$FPORT" ] && [ -s "$fd/data/child" ] && break
		sleep 0.05
	done
	[ -S "$fd/sock/.s.PGSQL.$FPORT" ] && [ -s "$fd/data/child" ]
	pgt_track h1 "$(cat "$fd/data/child")"
	# the fake is seen, and not taken
	run secretly timeout 60 "$PGEVICT" clusters --all
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *UNVERIFIED*"$fd/data"*"is not a root-owned PostgreSQL server binary"* ]]
	run secretly timeout 60 "$PGEVICT" ls
	[ "$status" -eq 0 ]
	run secretly timeout 60 "$PGEVICT" --cluster "$FPORT" ls
	[ "$status" -eq 2 ]
	# no password reached the fake server
	[ ! -s "$fd/record" ]
	# and it would have recorded one from a client that has it
	secretly timeout 20 "$(pgt_bindir)/psql" -X -h "$fd/sock" -p "$FPORT" -U y -d x -c 'select 1' >/dev/null 2>&1 || true
	[ "$(grep -c secret1 "$fd/record")" -eq 1 ]
	kill -TERM "$pid" "$(cat "$fd/data/child")" 2>/dev/null || true
}
