#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# No escape byte from outside reaches the operator's terminal.  A real
# cluster whose data directory and socket directory paths carry terminal
# escapes (OSC title, SGR, BEL), a role and a database whose names carry
# ESC and a C1 CSI (U+009B), a query text with ESC, and a client stalled in
# authentication whose startup packet names a user with ESC and a raw 0x9b
# byte.  Every text command (stdout and stderr, captured to files) prints
# no 0x1b, 0x07 or 0x9b byte, and shows the escaped form instead; --json
# keeps the exact bytes.

load common

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	id postgres >/dev/null 2>&1 || return 0
	pgt_cluster_create h1 || return 1
	local bin esc
	bin=$(pgt_bindir) || return 1
	# move the data directory to a hostile name, and put the first socket
	# directory (postmaster.pid line 5) under one too
	esc=$'pg\e]0;pwned\a\e[31mx'
	pgt_as_postgres "$bin/pg_ctl" -D "$h1_data" -m fast -w -t 30 stop >/dev/null || return 1
	mv "$h1_data" "$h1_dir/$esc" || return 1
	PGT_DATADIRS=("${PGT_DATADIRS[@]/#$h1_data/$h1_dir/$esc}")
	h1_data="$h1_dir/$esc"
	mkdir "$h1_dir/s$esc" && chown postgres:postgres "$h1_dir/s$esc" || return 1
	echo "unix_socket_directories = '$h1_dir/s$esc, $h1_sock'" >>"$h1_data/postgresql.conf"
	sed -i '1i host stalldb all 127.0.0.1/32 scram-sha-256' "$h1_data/pg_hba.conf"
	pgt_as_postgres "$bin/pg_ctl" -D "$h1_data" -l "$h1_log" -w -t 60 start >/dev/null || return 1
	EVIL_USER=$'evil\e[2J\xc2\x9b31mx'
	EVIL_DB=$'db\e]0;t\ax'
	pgt_sql h1 "create role \"$EVIL_USER\" login" >/dev/null || return 1
	pgt_sql h1 "create database \"$EVIL_DB\"" >/dev/null || return 1
	PGT_HOLD_SQL=$'select \'q\e[5m\' as x' \
		pgt_hold h1 "host=127.0.0.1 user='$EVIL_USER' dbname='$EVIL_DB' application_name='app${esc:2:1}[1m'" 2 idle \
		"$h1_dir/run/evil" || return 1
	STALL_USER=$'stall\e[2J\x9bx'
	"$PGT_HELPERS/pgstall" 127.0.0.1 "$h1_port" "$STALL_USER" stalldb "$h1_dir/run/stall" \
		</dev/null >/dev/null 2>&1 3>&- &
	pgt_track h1 $!
	local i
	for i in $(seq 50); do [ -s "$h1_dir/run/stall" ] && break; sleep 0.1; done
	[ -s "$h1_dir/run/stall" ] || return 1
	export h1_dir h1_data h1_sock h1_port h1_name h1_log EVIL_USER EVIL_DB STALL_USER
}

teardown_file() {
	pgt_cleanup
}

setup() {
	need_root
	[ -n "${h1_port:-}" ] || skip "the hostile cluster was not made"
	T=$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/out.XXXXXX")
}

# out NAME ARGS...: run pgevict ARGS with stdout and stderr in $T/NAME.out,
# $T/NAME.err (files, not a pipe), its exit status in $T/NAME.rc.
out() {
	local name=$1 rc=0; shift
	"$PGEVICT" "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null || rc=$?
	echo "$rc" >"$T/$name.rc"
}

# clean FILE...: no ESC, BEL or 0x9b byte in any of them.
clean() {
	local f n
	for f in "$@"; do
		n=$(od -An -v -tx1 "$f" | tr ' ' '\n' | grep -cEx '1b|07|9b' || true)
		[ "$n" -eq 0 ] || { echo "$f has $n escape bytes:"; cat -v "$f"; return 1; }
	done
}

@test "the hostile names reached the process titles (else this file tests nothing)" {
	esc=$'\e'
	pid=$(cut -d' ' -f1 "$h1_dir/run/evil" | head -n 1)
	[[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == *"evil$esc[2J"* ]]
	[[ "$(head -n 2 "$h1_data/postmaster.pid" | tail -n 1)" == *"$esc]0;pwned"* ]]
	[[ "$(sed -n 5p "$h1_data/postmaster.pid")" == *"$esc]0;pwned"* ]]
}

@test "clusters, tree, ls and ls --all print no escape byte, and show the escaped names" {
	out clusters --cluster "$h1_port" clusters
	out tree --cluster "$h1_port" tree
	out ls --cluster "$h1_port" ls
	out lsall --cluster "$h1_port" ls --all
	out lsnosql --cluster "$h1_port" --no-sql ls --all
	for n in clusters tree ls lsall lsnosql; do
		[ "$(cat "$T/$n.rc")" -eq 0 ] || { echo "$n: exit $(cat "$T/$n.rc")"; cat -v "$T/$n.err"; false; }
		clean "$T/$n.out" "$T/$n.err"
	done
	grep -qF 'pg\x1b]0;pwned\x07\x1b[31mx' "$T/tree.out"
	grep -qF 'evil\x1b[2J\xc2\x9b31mx' "$T/ls.out"
	grep -qF 'db\x1b]0;t\x07x' "$T/ls.out"
	grep -qF 'q\x1b[5m' "$T/ls.out"
	grep -qF 'evil\x1b[2J\xc2\x9b31mx' "$T/tree.out"
	grep -qF 'stall\x1b[2J\x9bx' "$T/lsall.out"
	grep -qF 'stall\x1b[2J\x9bx' "$T/lsnosql.out"
}

@test "terminate --dry-run and cancel --dry-run plans print no escape byte; the selector is echoed escaped" {
	out term --cluster "$h1_port" terminate --dry-run --user "$EVIL_USER"
	out cancel --cluster "$h1_port" cancel --dry-run --user "$EVIL_USER"
	out stall --cluster "$h1_port" terminate --dry-run --user "$STALL_USER"
	out none --cluster "$h1_port" terminate --dry-run --user $'nobody\e[2J'
	for n in term cancel stall none; do
		[ "$(cat "$T/$n.rc")" -lt 128 ]
		clean "$T/$n.out" "$T/$n.err"
	done
	[ "$(cat "$T/term.rc")" -eq 0 ]
	[ "$(grep -cF 'evil\x1b[2J\xc2\x9b31mx' "$T/term.out")" -eq 2 ]
	grep -qF 'stall\x1b[2J\x9bx' "$T/stall.out"
	# the backends are still there: a dry run touches nothing
	for p in $(cut -d' ' -f1 "$h1_dir/run/evil"); do kill -0 "$p"; done
}

@test "status and lockdown --dry-run print no escape byte" {
	sd=$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/state.XXXXXX")
	out status --cluster "$h1_port" status --state-dir "$sd"
	out lock --cluster "$h1_port" lockdown --dry-run --state-dir "$sd"
	bad=0
	for n in status lock; do
		[ "$(cat "$T/$n.rc")" -lt 128 ]
		clean "$T/$n.out" "$T/$n.err" || bad=1
	done
	[ "$bad" -eq 0 ]
	# a dry run wrote nothing
	[ -z "$(ls -A "$sd")" ]
}

@test "errors that echo the operator's own arguments escape them too" {
	out cmd --cluster "$h1_port" $'ls\e]0;x\a'
	out opt ls $'--user\e[2J'
	out via terminate --user x --via $'sql\e[2J'
	out conn sever --conn $'1.2.3.4:5\e[2J'
	for n in cmd opt via conn; do
		[ "$(cat "$T/$n.rc")" -eq 2 ]
		clean "$T/$n.out" "$T/$n.err"
		grep -qF '\x1b' "$T/$n.err"
	done
}

@test "ls --json keeps the exact bytes of the names, the query and the data directory" {
	run "$PGEVICT" --cluster "$h1_port" ls --json
	[ "$status" -eq 0 ]
	pid=$(cut -d' ' -f1 "$h1_dir/run/evil" | head -n 1)
	[ "$(jfield "$pid" user)" = "$EVIL_USER" ]
	[ "$(jfield "$pid" database)" = "$EVIL_DB" ]
	[ "$(jfield "$pid" cluster)" = "$h1_data" ]
	[ "$(jfield "$pid" query)" = $'select \'q\e[5m\' as x' ]
}
