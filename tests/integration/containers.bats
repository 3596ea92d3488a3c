#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Issue 11, containers end to end: every command on real clusters that run
# in namespaces of their own, made without a container runtime (unshare,
# ip netns, nsenter; tests/lib/pgcluster.bash, pgt_container_create):
#
#   c1  netpidmnt  own network, pid and mount namespaces; the postmaster is
#                  pid 1 inside; the data directory is at a container path
#                  that holds a DECOY data directory on the host
#   c2  net        own network namespace only, joined to the host by a veth
#   c3  user       c1's layout in a user namespace too (inner 0 = host
#                  200000), pg_hba.conf in a config directory of its own
#   h1             a plain host cluster, for the columns that say "none"
#
# Clients connect from inside the container's network namespace (or over
# the veth from the host, for c2).  What each test checks is what a user
# would: the JSON and the columns, that the session named is gone and the
# other one is not, what the client saw, the container's pg_hba.conf on
# disk (sha256, owner, mode) and the decoy beside it, PostgreSQL's own
# refusal, and a server log without a crash-restart.

load common
bats_require_minimum_version 1.5.0

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	id postgres >/dev/null 2>&1 || return 0
	local why
	why=$(pgt_ctr_can netpidmnt) || { C1_SKIP=$why; export C1_SKIP; return 0; }
	pgt_container_create c1 netpidmnt || return 1
	pgt_ctr_sql c1 "create role app login; create role bob login" >/dev/null || return 1
	cp -p "$c1_hostdata/pg_hba.conf" "$c1_dir/hba.orig"
	pgt_container_create c2 net || return 1
	pgt_sql c2 "create role app login" >/dev/null || return 1
	cp -p "$c2_hostdata/pg_hba.conf" "$c2_dir/hba.orig"
	if why=$(pgt_ctr_can user); then
		PGT_CTR_ETC=1 pgt_container_create c3 user || return 1
		pgt_ctr_sql c3 "create role app login" >/dev/null || return 1
		cp -p "$c3_hostetc/pg_hba.conf" "$c3_dir/hba.orig"
	else
		C3_SKIP="user namespaces: $why"
		export C3_SKIP
	fi
	pgt_cluster_create h1 || return 1
	# shellcheck disable=SC2046
	export $(compgen -v c1_) $(compgen -v c2_) $(compgen -v c3_) $(compgen -v h1_)
}

teardown_file() {
	pgt_cleanup
}

setup() {
	need_root
	[ -z "${C1_SKIP:-}" ] || skip "$C1_SKIP"
	[ -n "${c1_pid:-}" ] || skip "the container clusters were not made"
	SD=$(mktemp -d /tmp/pgevict-state.XXXXXX)
	HOLDS=()
	# every test starts from each container's original rules, loaded
	restore_hba c1 "$c1_hostdata/pg_hba.conf"
	restore_hba c2 "$c2_hostdata/pg_hba.conf"
	if [ -n "${c3_pid:-}" ]; then
		# a hostile test that failed half-way: its directory back first
		[ ! -L "$c3_hostetc" ] || rm -f "$c3_hostetc"
		[ -e "$c3_hostetc" ] || mv "$c3_hostetc.old" "$c3_hostetc"
		[ ! -e "$c3_hostetc/hba.real" ] || { rm -f "$c3_hostetc/pg_hba.conf"; mv "$c3_hostetc/hba.real" "$c3_hostetc/pg_hba.conf"; }
		restore_hba c3 "$c3_hostetc/pg_hba.conf"
	fi
}

teardown() {
	local p
	for p in "${HOLDS[@]}"; do pgt_release "$p"; done
	out_of_docker_cgroup c1
	rm -rf "${SD:-/nonexistent}" "${OTHER:-/nonexistent}"
}

# restore_hba VAR FILE: put the original back and reload, when it differs.
restore_hba() {
	local dir="${1}_dir"
	cmp -s "${!dir}/hba.orig" "$2" && return 0
	rm -f "$2"
	cp -p "${!dir}/hba.orig" "$2"
	pgt_ctr_sql "$1" "select pg_reload_conf()" >/dev/null
	sleep 0.3
}

need_user() {
	[ -z "${C3_SKIP:-}" ] || skip "$C3_SKIP"
	[ -n "${c3_pid:-}" ] || skip "the user-namespace cluster was not made"
}

# hold VAR CONNINFO N MODE OUT: sessions from inside VAR's network
# namespace, released by teardown (in place of common.bash's hold).
hold() {
	pgt_ctr_hold "$@" || return 1
	HOLDS+=("$PGT_HOLD_PID")
}

# watch VAR CONNINFO MODE OUT: one pgwatch session from inside.
watch() {
	pgt_ctr_watch "$@" || return 1
	HOLDS+=("$PGT_WATCH_PID")
}

# wait_gone PID: up to 10 s for the process to exit.
wait_gone() {
	local i
	for i in $(seq 1 100); do
		alive "$1" || return 0
		sleep 0.1
	done
	echo "pid $1 is still there" >&2
	return 1
}

# wait_file FILE: up to 10 s for it to have something.
wait_file() {
	local i
	for i in $(seq 1 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	echo "no $1" >&2
	return 1
}

# hostpid VAR NSPID: the host pid of a backend known by its pid inside.
hostpid() {
	local p
	p=$(pgt_host_pid "$1" "$2") || { echo "no host pid for $1's pid $2" >&2; return 1; }
	echo "$p"
}

# nspids_of OUT: the inner backend pids in a pgconns/pgwatch file.
nspids_of() { cut -d' ' -f1 "$1"; }

# jline PID: the JSON line of $output whose pid is PID.
jline() { printf '%s\n' "$output" | jq -c --argjson p "$1" 'select(.pid == $p)'; }

# ns_pids: the ns_pid values in $output, sorted, on one line.
ns_pids() { printf '%s\n' "$output" | jq -r '.ns_pid' | sort -n | tr '\n' ' '; }
sorted() { printf '%s\n' "$@" | sort -n | tr '\n' ' '; }

# no_sql_complaint: pgevict said nothing about SQL on stderr ($stderr).
no_sql_complaint() {
	if [[ "${stderr:-}" == *"no SQL for cluster"* ]]; then
		echo "pgevict had no SQL: $stderr" >&2
		return 1
	fi
}

# no_reset LOG: the postmaster never crash-restarted.
no_reset() {
	refute grep -E "terminated by signal|reinitializing|terminating any other active server processes" "$1"
}

# fileid FILE: owner, group and mode as numbers.
fileid() { stat -c '%u %g %a' "$1"; }

# tree_fp DIR: every name, type, inode, owner, mode, size, mtime and content
# under DIR (a file replaced or a lock file made and removed shows too).
tree_fp() {
	(cd "$1" && find . -printf '%p %y %i %u %g %m %s %T@ %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}

# inside VAR ROLE [HOST]: one TCP connection made inside VAR's network
# namespace; psql's output in $output.
inside() {
	local port="${1}_port"
	run pgt_ctr_net "$1" env PGCONNECT_TIMEOUT=5 psql -X -At -h "${3:-127.0.0.1}" -p "${!port}" \
		-U "$2" -d postgres -c 'select 42'
}

refused_by_hba() {
	[ "$status" -ne 0 ] && [[ "$output" == *"pg_hba.conf rejects connection"* ]] ||
		{ echo "not refused by pg_hba.conf ($status): $output" >&2; return 1; }
}

accepted() {
	[ "$status" -eq 0 ] && [ "$output" = 42 ] || { echo "not accepted ($status): $output" >&2; return 1; }
}

# column HEADER PID: the value in column HEADER of pgevict's table (in
# $output) on the row of PID.
column() {
	local hdr off row
	hdr=$(printf '%s\n' "$output" | head -n 1)
	[[ "$hdr" == *"$1"* ]] || { echo "no column $1 in: $hdr" >&2; return 1; }
	off=${hdr%%"$1"*}
	off=${#off}
	row=$(printf '%s\n' "$output" | grep "^$2 ") || { echo "no row for $2" >&2; return 1; }
	row=${row:$off}
	echo "${row%% *}"
}

pe() { local port="${1}_port"; shift; "$PGEVICT" --cluster "${!port}" "$@"; }

# ---------------------------------------------------------------------

@test "clusters --json: a cluster in its own net, pid and mount namespaces is verified, with its namespaces, its container, and its paths as the container sees them; a host cluster has no container" {
	run --separate-stderr "$PGEVICT" clusters --json
	echo "$output"
	[ "$status" -eq 0 ]
	c=$(jline "$c1_pid")
	[ -n "$c" ]
	[ "$(jq -r .verified <<<"$c")" = true ]
	[ "$(jq -r .data_directory <<<"$c")" = "$c1_data" ]
	[ "$(jq -r .socket_directory <<<"$c")" = "$c1_sock" ]
	[ "$(jq -r .hba_file <<<"$c")" = "$c1_data/pg_hba.conf" ]
	[ "$(jq -r .port <<<"$c")" = "$c1_port" ]
	[ "$(jq -r .cluster_name <<<"$c")" = "$c1_name" ]
	[ "$(jq -r .owner <<<"$c")" = postgres ]
	[ "$(jq -r .status <<<"$c")" = ready ]
	[ "$(jq -r '.container | type' <<<"$c")" = object ]
	[ "$(jq -r '.container.runtime' <<<"$c")" = null ]
	[ "$(jq -r '.container.id' <<<"$c")" = null ]
	[ "$(jq -c '.container.namespaces | sort' <<<"$c")" = '["mnt","net","pid"]' ]
	for k in net mnt pid user; do
		[ "$(jq -r ".namespaces.$k" <<<"$c")" = "$(stat -L -c %i "/proc/$c1_pid/ns/$k")" ]
	done
	# the net-only cluster: only its network namespace differs
	c=$(jline "$c2_pid")
	[ "$(jq -r .verified <<<"$c")" = true ]
	[ "$(jq -r .data_directory <<<"$c")" = "$c2_data" ]
	[ "$(jq -c '.container.namespaces' <<<"$c")" = '["net"]' ]
	[ "$(jq -r .namespaces.net <<<"$c")" = "$(stat -L -c %i "/proc/$c2_pid/ns/net")" ]
	# a host cluster
	c=$(jline "$(pgt_postmaster_pid h1)")
	[ "$(jq -r .verified <<<"$c")" = true ]
	[ "$(jq -r .container <<<"$c")" = null ]
}

@test "clusters: the CONTAINER column says ns:net+pid+mnt, ns:net, or - for a host cluster" {
	run --separate-stderr "$PGEVICT" clusters
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(column CONTAINER "$c1_pid")" = ns:net+pid+mnt ]
	[ "$(column CONTAINER "$c2_pid")" = ns:net ]
	[ "$(column CONTAINER "$(pgt_postmaster_pid h1)")" = - ]
	# the data directory column shows the container path
	[[ "$(printf '%s\n' "$output" | grep "^$c1_pid ")" == *" $c1_data "* ]]
}

@test "--cluster names a container cluster by its data directory (the container path), its port or its cluster_name" {
	for spec in "$c1_data" "$c1_port" "$c1_name"; do
		run --separate-stderr "$PGEVICT" --cluster "$spec" clusters --json
		echo "$spec: $output $stderr"
		[ "$status" -eq 0 ]
		[ "$(printf '%s\n' "$output" | jq -r .pid)" = "$c1_pid" ]
		run --separate-stderr "$PGEVICT" --cluster "$spec" ls --json --all
		[ "$status" -eq 0 ]
		[ -n "$output" ]
		[ "$(printf '%s\n' "$output" | jq -r .cluster | sort -u)" = "$c1_data" ]
	done
}

@test "ls: the container's sessions over TCP 127.0.0.1 and ::1 inside are proc+sql, with the client's own port, the host pid and the pid inside (ns_pid)" {
	hold c1 "host=127.0.0.1 user=app dbname=postgres application_name=ls_v4" 2 idle "$c1_dir/run/ls4"
	hold c1 "host=::1 user=app dbname=postgres application_name=ls_v6" 1 idle "$c1_dir/run/ls6"
	run --separate-stderr "$PGEVICT" --cluster "$c1_port" ls --json
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 0 ]
	for f in ls4 ls6; do
		while read -r nspid cport; do
			hp=$(hostpid c1 "$nspid")
			[ "$hp" != "$nspid" ]
			row=$(jline "$hp")
			[ -n "$row" ]
			[ "$(jq -r .ppid <<<"$row")" = "$c1_pid" ]
			[ "$(jq -r .cluster <<<"$row")" = "$c1_data" ]
			[ "$(jq -r .port <<<"$row")" = "$c1_port" ]
			[ "$(jq -r .backend_type <<<"$row")" = "client backend" ]
			[ "$(jq -r .user <<<"$row")" = app ]
			[ "$(jq -r .database <<<"$row")" = postgres ]
			[ "$(jq -r .transport <<<"$row")" = tcp ]
			[ "$(jq -r .client_port <<<"$row")" = "$cport" ]
			[ "$(jq -r .state <<<"$row")" = idle ]
			if [ "$f" = ls4 ]; then
				[ "$(jq -r .client_addr <<<"$row")" = 127.0.0.1 ]
			else
				[ "$(jq -r .client_addr <<<"$row")" = ::1 ]
			fi
			[ "$(jq -r .ns_pid <<<"$row")" = "$nspid" ]
			[ "$(jq -r .source <<<"$row")" = proc+sql ]
			[ "$(jq -r .application_name <<<"$row")" = "ls_v${f#ls}" ]
		done <"$c1_dir/run/$f"
	done
	no_sql_complaint
}

@test "selectors --app, --user and --idle-for 1s pick the container's sessions (SQL through the container's socket)" {
	hold c1 "host=127.0.0.1 user=app dbname=postgres application_name=sel_a" 1 idle "$c1_dir/run/sa"
	hold c1 "host=127.0.0.1 user=bob dbname=postgres application_name=sel_b" 1 idle "$c1_dir/run/sb"
	hold c1 "host=127.0.0.1 user=app dbname=postgres application_name=sel_c" 1 active "$c1_dir/run/sc"
	a=$(nspids_of "$c1_dir/run/sa") b=$(nspids_of "$c1_dir/run/sb") c=$(nspids_of "$c1_dir/run/sc")
	sleep 1.2
	run --separate-stderr pe c1 ls --json --app sel_a
	[ "$status" -eq 0 ]
	no_sql_complaint
	[ "$(ns_pids)" = "$(sorted "$a")" ]
	run --separate-stderr pe c1 ls --json --user bob
	[ "$status" -eq 0 ]
	[ "$(ns_pids)" = "$(sorted "$b")" ]
	run --separate-stderr pe c1 ls --json --user app
	[ "$status" -eq 0 ]
	[ "$(ns_pids)" = "$(sorted "$a" "$c")" ]
	# the active one is not idle; the two idle ones have been for over 1s
	run --separate-stderr pe c1 ls --json --idle-for 1s
	[ "$status" -eq 0 ]
	no_sql_complaint
	[ "$(ns_pids)" = "$(sorted "$a" "$b")" ]
	run --separate-stderr pe c1 ls --json --idle-for 1h
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^{')" -eq 0 ]
}

@test "terminate --app ends the container session with that application_name (SQL inside the container), leaves another; the postmaster never resets" {
	hold c1 "host=127.0.0.1 user=app dbname=postgres application_name=t_kill" 1 idle "$c1_dir/run/tk"
	hold c1 "host=127.0.0.1 user=app dbname=postgres application_name=t_keep" 1 idle "$c1_dir/run/tp"
	k=$(hostpid c1 "$(nspids_of "$c1_dir/run/tk")")
	p=$(hostpid c1 "$(nspids_of "$c1_dir/run/tp")")
	run --separate-stderr pe c1 terminate --app t_kill --json
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	no_sql_complaint
	[ "$(printf '%s\n' "$output" | grep -c '^{')" -eq 1 ]
	[ "$(jq -r .pid <<<"$output")" = "$k" ]
	[ "$(jq -r .outcome <<<"$output")" = gone ]
	[ "$(jq -r .step <<<"$output")" = sql ]
	[ "$(jq -r .cluster <<<"$output")" = "$c1_data" ]
	[ "$(jq -r .client_port <<<"$output")" = "$(cut -d' ' -f2 "$c1_dir/run/tk")" ]
	wait_gone "$k"
	alive "$p"
	[ "$(pgt_ctr_sql c1 "select count(*) from pg_stat_activity where application_name = 't_keep'")" = 1 ]
	no_reset "$c1_log"
}

@test "terminate --pid (the host pid) --via signal ends a container session by SIGTERM, leaves another; the postmaster never resets" {
	hold c1 "host=127.0.0.1 user=app dbname=postgres application_name=t_sig" 1 idle "$c1_dir/run/ts"
	hold c1 "host=127.0.0.1 user=app dbname=postgres application_name=t_keep" 1 idle "$c1_dir/run/tp"
	s=$(hostpid c1 "$(nspids_of "$c1_dir/run/ts")")
	p=$(hostpid c1 "$(nspids_of "$c1_dir/run/tp")")
	run --separate-stderr pe c1 terminate --pid "$s" --via signal --json
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(jq -r .pid <<<"$output")" = "$s" ]
	[ "$(jq -r .outcome <<<"$output")" = gone ]
	[ "$(jq -r .step <<<"$output")" = signal ]
	wait_gone "$s"
	alive "$p"
	grep -q "\[$(nspids_of "$c1_dir/run/ts")\] FATAL:  terminating connection due to administrator command" "$c1_log"
	no_reset "$c1_log"
}

@test "cancel --pid (the host pid) on an active pg_sleep in the container: the client sees 'canceling statement due to user request' and goes on in the same session" {
	out="$c1_dir/run/cancel"
	rm -f "$out" "$out.err" "$out.in"
	mkfifo "$out.in"
	# psql reads its statements from a FIFO the test writes, so the
	# session stays open, idle, after the cancel
	pgt_ctr_net c1 env PGCONNECT_TIMEOUT=5 psql -X -At -h 127.0.0.1 -p "$c1_port" -U app \
		-d "dbname=postgres application_name=cx" <"$out.in" >"$out" 2>"$out.err" 3>&- 4>&- &
	client=$!
	exec {w}>"$out.in"
	pgt_track c1 "$client"
	HOLDS+=("$client")
	echo 'select pg_sleep(60);' >&"$w"
	for _ in $(seq 1 100); do
		nspid=$(pgt_ctr_sql c1 "select pid from pg_stat_activity where application_name = 'cx' and state = 'active' and query like '%pg_sleep%'")
		[ -z "$nspid" ] || break
		sleep 0.1
	done
	[ -n "$nspid" ]
	b=$(hostpid c1 "$nspid")
	run --separate-stderr pe c1 cancel --pid "$b" --json
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = cancelled ]
	[ "$(jq -r .pid <<<"$output")" = "$b" ]
	# the session is still there, idle
	alive "$b"
	[ "$(pgt_ctr_sql c1 "select state from pg_stat_activity where pid = $nspid")" = idle ]
	# and the client goes on in it
	echo "select 'after', pg_backend_pid();" >&"$w"
	exec {w}>&-
	wait_gone "$client"
	cat "$out" "$out.err"
	grep -q "canceling statement due to user request" "$out.err"
	[ "$(tail -n 1 "$out")" = "after|$nspid" ]
	no_reset "$c1_log"
}

@test "sever --pid --method destroy cuts a container session: the client sees a reset, the backend exits, another stays" {
	watch c1 "host=127.0.0.1 user=app dbname=postgres application_name=sv_d" idle "$c1_dir/run/svd"
	cut=$PGT_WATCH_PID
	hold c1 "host=127.0.0.1 user=app dbname=postgres application_name=sv_keep" 1 idle "$c1_dir/run/svk"
	read -r nspid _ <"$c1_dir/run/svd"
	b=$(hostpid c1 "$nspid")
	p=$(hostpid c1 "$(nspids_of "$c1_dir/run/svk")")
	run --separate-stderr pe c1 sever --pid "$b" --method destroy --json
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = gone ]
	[ "$(jq -r .step <<<"$output")" = destroy ]
	wait_gone "$b"
	wait_file "$c1_dir/run/svd.err"
	grep -q "^recv: Connection reset by peer" "$c1_dir/run/svd.err"
	wait_gone "$cut"
	alive "$p"
	no_reset "$c1_log"
}

@test "sever --pid --method rst cuts a container session on the container's loopback: the client sees a reset, the backend exits, another stays" {
	watch c1 "host=127.0.0.1 user=app dbname=postgres application_name=sv_r" idle "$c1_dir/run/svr"
	cut=$PGT_WATCH_PID
	hold c1 "host=127.0.0.1 user=app dbname=postgres application_name=sv_keep" 1 idle "$c1_dir/run/svk"
	read -r nspid _ <"$c1_dir/run/svr"
	b=$(hostpid c1 "$nspid")
	p=$(hostpid c1 "$(nspids_of "$c1_dir/run/svk")")
	run --separate-stderr pe c1 sever --pid "$b" --method rst --json
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(jq -r .outcome <<<"$output")" = gone ]
	[ "$(jq -r .step <<<"$output")" = rst ]
	wait_gone "$b"
	wait_file "$c1_dir/run/svr.err"
	grep -q "^recv: Connection reset by peer" "$c1_dir/run/svr.err"
	wait_gone "$cut"
	alive "$p"
	no_reset "$c1_log"
}

@test "tree shows the container's postmaster by its host pid and every child, the client backend with its address" {
	hold c1 "host=127.0.0.1 user=app dbname=postgres application_name=tr" 1 idle "$c1_dir/run/tr"
	read -r nspid cport <"$c1_dir/run/tr"
	b=$(hostpid c1 "$nspid")
	run --separate-stderr pe c1 tree
	echo "$output"
	[ "$status" -eq 0 ]
	first=$(printf '%s\n' "$output" | head -n 1)
	[[ "$first" == "$c1_pid postmaster "* ]]
	[[ "$first" == *"$c1_data"* ]]
	for ch in $(cat "/proc/$c1_pid/task/$c1_pid/children"); do
		printf '%s\n' "$output" | grep -q "─ $ch " || { echo "child $ch missing" >&2; false; }
	done
	printf '%s\n' "$output" | grep -q "─ $b client backend app@postgres 127.0.0.1:$cport idle"
}

@test "lockdown of the netpidmnt container: proven, refuses TCP inside with pg_hba's message, keeps the owner and existing sessions, writes the container's file and never the decoy on the host; unlock restores it byte for byte" {
	hba="$c1_hostdata/pg_hba.conf"
	orig=$(sha256sum <"$hba")
	id0=$(fileid "$hba")
	decoy0=$(tree_fp "$c1_root")
	hold c1 "host=127.0.0.1 user=app dbname=postgres" 1 idle "$c1_dir/run/lk"
	b=$(hostpid c1 "$(nspids_of "$c1_dir/run/lk")")
	inside c1 app; accepted

	run pe c1 lockdown --state-dir "$SD"
	echo "$output"
	# first of all: nothing at the container path on the host was touched
	[ "$(tree_fp "$c1_root")" = "$decoy0" ] || { echo "the decoy on the host was written" >&2; false; }
	[ "$status" -eq 0 ]
	[[ "$output" == *"lockdown proven"* ]]
	for role in app bob postgres; do
		inside c1 "$role"; refused_by_hba
		inside c1 "$role" ::1; refused_by_hba
	done
	[ "$(pgt_ctr_sql c1 'select 42')" = 42 ]     # the owner over the Unix socket, inside
	alive "$b"
	[ "$(sha256sum <"$hba")" != "$orig" ]
	[ "$(fileid "$hba")" = "$id0" ]
	[ "$(tree_fp "$c1_root")" = "$decoy0" ]
	run --separate-stderr pe c1 status --json --state-dir "$SD"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .locked <<<"$output")" = true ]
	[ "$(jq -r .file <<<"$output")" = lockdown ]
	[ "$(jq -r .loaded <<<"$output")" = true ]
	[ "$(jq -r .hba_file <<<"$output")" = "$c1_data/pg_hba.conf" ]

	run pe c1 unlock --state-dir "$SD"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$hba")" = "$orig" ]
	[ "$(fileid "$hba")" = "$id0" ]
	[ "$(tree_fp "$c1_root")" = "$decoy0" ]
	inside c1 app; accepted
	run --separate-stderr pe c1 status --json --state-dir "$SD"
	[ "$(jq -r .locked <<<"$output")" = false ]
	no_reset "$c1_log"
}

@test "net container: sessions over the veth are proc+sql with the host's address; lockdown is proven on the container cluster, not on a decoy server at the same port on the host's 127.0.0.1; unlock restores it" {
	fd="$c2_dir/fake"
	mkdir -p "$fd"
	"$PGT_HELPERS/fakepg" -t "$c2_port" silent "$fd/.s.PGSQL.$c2_port" </dev/null >/dev/null 2>"$fd/err" 3>&- 4>&- &
	fake=$!
	pgt_track c2 "$fake"
	HOLDS+=("$fake")
	for _ in $(seq 1 100); do [ -S "$fd/.s.PGSQL.$c2_port" ] && break; sleep 0.1; done
	ss -Htln "( sport = :$c2_port )" | grep -q "127.0.0.1:$c2_port"    # the decoy listens on the host
	# host clients over the veth, v4 and v6
	pgt_hold c2 "host=$c2_addr user=app dbname=postgres application_name=nv4" 1 idle "$c2_dir/run/n4"
	HOLDS+=("$PGT_HOLD_PID")
	pgt_hold c2 "host=$c2_addr6 user=app dbname=postgres application_name=nv6" 1 idle "$c2_dir/run/n6"
	HOLDS+=("$PGT_HOLD_PID")
	run --separate-stderr pe c2 ls --json
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	no_sql_complaint
	read -r b4 p4 <"$c2_dir/run/n4"
	read -r b6 p6 <"$c2_dir/run/n6"
	row=$(jline "$b4")
	[ "$(jq -r .source <<<"$row")" = proc+sql ]
	[ "$(jq -r .client_addr <<<"$row")" = "$c2_haddr" ]
	[ "$(jq -r .client_port <<<"$row")" = "$p4" ]
	[ "$(jq -r .ns_pid <<<"$row")" = "$b4" ]
	row=$(jline "$b6")
	[ "$(jq -r .client_addr <<<"$row")" = "$c2_haddr6" ]
	[ "$(jq -r .client_port <<<"$row")" = "$p6" ]

	hba="$c2_hostdata/pg_hba.conf"
	orig=$(sha256sum <"$hba")
	id0=$(fileid "$hba")
	run pe c2 lockdown --state-dir "$SD"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"lockdown proven"* ]]
	run env PGCONNECT_TIMEOUT=5 psql -X -At -h "$c2_addr" -p "$c2_port" -U app -d postgres -c 'select 42'
	refused_by_hba
	run env PGCONNECT_TIMEOUT=5 psql -X -At -h "$c2_addr6" -p "$c2_port" -U app -d postgres -c 'select 42'
	refused_by_hba
	inside c2 app; refused_by_hba
	alive "$b4"
	alive "$b6"
	run pe c2 unlock --state-dir "$SD"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$hba")" = "$orig" ]
	[ "$(fileid "$hba")" = "$id0" ]
	run env PGCONNECT_TIMEOUT=5 psql -X -At -h "$c2_addr" -p "$c2_port" -U app -d postgres -c 'select 42'
	accepted
	no_reset "$c2_log"
}

@test "user-namespace container: verified as ns:net+pid+mnt+user, owner postgres (the name inside), found by --cluster; its sessions are proc+sql" {
	need_user
	run --separate-stderr "$PGEVICT" clusters --json
	echo "$output"
	[ "$status" -eq 0 ]
	c=$(jline "$c3_pid")
	[ -n "$c" ]
	[ "$(jq -r .verified <<<"$c")" = true ]
	[ "$(jq -r .owner <<<"$c")" = postgres ]
	[ "$(jq -r .data_directory <<<"$c")" = "$c3_data" ]
	[ "$(jq -r .hba_file <<<"$c")" = "$c3_etc/pg_hba.conf" ]
	[ "$(jq -c '.container.namespaces | sort' <<<"$c")" = '["mnt","net","pid","user"]' ]
	[ "$(jq -r .namespaces.user <<<"$c")" = "$(stat -L -c %i "/proc/$c3_pid/ns/user")" ]
	run --separate-stderr "$PGEVICT" clusters
	echo "$output"
	[ "$(column CONTAINER "$c3_pid")" = ns:net+pid+mnt+user ]
	for spec in "$c3_data" "$c3_name"; do
		run --separate-stderr "$PGEVICT" --cluster "$spec" clusters --json
		[ "$status" -eq 0 ]
		[ "$(printf '%s\n' "$output" | jq -r .pid)" = "$c3_pid" ]
	done
	hold c3 "host=127.0.0.1 user=app dbname=postgres application_name=u_ls" 1 idle "$c3_dir/run/uls"
	read -r nspid cport <"$c3_dir/run/uls"
	b=$(hostpid c3 "$nspid")
	run --separate-stderr pe c3 ls --json --app u_ls
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	no_sql_complaint
	row=$(jline "$b")
	[ "$(jq -r .source <<<"$row")" = proc+sql ]
	[ "$(jq -r .ns_pid <<<"$row")" = "$nspid" ]
	[ "$(jq -r .client_port <<<"$row")" = "$cport" ]
	[ "$(jq -r .user <<<"$row")" = app ]
}

@test "user-namespace container: lockdown proven, the file stays the container owner's (host uid 200000+uid), the decoys untouched; unlock byte for byte" {
	need_user
	hba="$c3_hostetc/pg_hba.conf"
	orig=$(sha256sum <"$hba")
	id0=$(fileid "$hba")
	[ "$(stat -c '%u %g' "$hba")" = "$c3_uid $c3_gid" ]
	decoy0=$(tree_fp "$c3_root")
	run pe c3 lockdown --state-dir "$SD"
	echo "$output"
	[ "$(tree_fp "$c3_root")" = "$decoy0" ] || { echo "the decoy on the host was written" >&2; false; }
	[ "$status" -eq 0 ]
	[[ "$output" == *"lockdown proven"* ]]
	inside c3 app; refused_by_hba
	[ "$(pgt_ctr_sql c3 'select 42')" = 42 ]
	[ "$(sha256sum <"$hba")" != "$orig" ]
	[ "$(fileid "$hba")" = "$id0" ]
	[ "$(tree_fp "$c3_root")" = "$decoy0" ]
	run --separate-stderr pe c3 status --json --state-dir "$SD"
	[ "$(jq -r .locked <<<"$output")" = true ]
	[ "$(jq -r .file <<<"$output")" = lockdown ]
	run pe c3 unlock --state-dir "$SD"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$hba")" = "$orig" ]
	[ "$(fileid "$hba")" = "$id0" ]
	[ "$(tree_fp "$c3_root")" = "$decoy0" ]
	inside c3 app; accepted
	no_reset "$c3_log"
}

# other_dir: a root-only directory with a root-only file; nothing may
# change in it.  Sets OTHER and OTHER0 (its fingerprint).
other_dir() {
	OTHER=$(mktemp -d /tmp/pgevict-other.XXXXXX)
	printf 'root only\n' >"$OTHER/secret"
	chmod 600 "$OTHER/secret"
	chmod 755 "$OTHER"
	OTHER0=$(tree_fp "$OTHER")
}

@test "user-namespace container, hostile root inside: pg_hba.conf replaced by a symlink (to a host file, to the decoy's path) between lockdown and unlock: unlock refuses and writes nothing outside; the original stays saved" {
	need_user
	other_dir
	hba="$c3_hostetc/pg_hba.conf"
	orig=$(sha256sum <"$hba")
	id0=$(fileid "$hba")
	decoy0=$(tree_fp "$c3_root")
	data0=$(ls -A "$c3_hostdata")
	run pe c3 lockdown --state-dir "$SD"
	[ "$status" -eq 0 ]
	saved=$(ls "$SD"/*/original)
	[ "$(sha256sum <"$saved")" = "$orig" ]
	# the container's root, inside: the file becomes a symlink
	pgt_in_ctr c3 mv "$c3_etc/pg_hba.conf" "$c3_etc/hba.real"
	for target in "$OTHER/secret" "$c3_decoy/pg_hba.conf"; do
		pgt_in_ctr c3 ln -sfn "$target" "$c3_etc/pg_hba.conf"
		[ "$(stat -c %u "$hba")" = "$PGT_CTR_UIDBASE" ]     # made by the container's root
		run pe c3 unlock --state-dir "$SD"
		echo "$target: $output"
		[ "$status" -ne 0 ]
		[ -L "$hba" ]
		[ "$(readlink "$hba")" = "$target" ]
		[ "$(tree_fp "$OTHER")" = "$OTHER0" ]
		[ "$(tree_fp "$c3_root")" = "$decoy0" ]
		[ "$(sha256sum <"$saved")" = "$orig" ]
		[ -z "$(find "$c3_hostetc" -name '*.pgevict-lock')" ]
	done
	[ "$(ls -A "$c3_hostdata")" = "$data0" ]
	# the file back: unlock restores it
	pgt_in_ctr c3 rm "$c3_etc/pg_hba.conf"
	pgt_in_ctr c3 mv "$c3_etc/hba.real" "$c3_etc/pg_hba.conf"
	run pe c3 unlock --state-dir "$SD"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$hba")" = "$orig" ]
	[ "$(fileid "$hba")" = "$id0" ]
	inside c3 app; accepted
}

@test "user-namespace container, hostile root inside: the directory of pg_hba.conf swapped for a symlink (to a host directory, to the path that is the decoy on the host and the data directory inside) between lockdown and unlock: unlock refuses and writes nothing there" {
	need_user
	other_dir
	hba="$c3_hostetc/pg_hba.conf"
	orig=$(sha256sum <"$hba")
	id0=$(fileid "$hba")
	decoy0=$(tree_fp "$c3_root")
	data0=$(ls -A "$c3_hostdata")
	run pe c3 lockdown --state-dir "$SD"
	[ "$status" -eq 0 ]
	saved=$(ls "$SD"/*/original)
	pgt_in_ctr c3 mv "$c3_etc" "$c3_etc.old"
	for target in "$OTHER" "$c3_decoy"; do
		pgt_in_ctr c3 ln -sfn "$target" "$c3_etc"
		run pe c3 unlock --state-dir "$SD"
		echo "$target: $output"
		[ "$status" -ne 0 ]
		[ "$(tree_fp "$OTHER")" = "$OTHER0" ]
		[ "$(tree_fp "$c3_root")" = "$decoy0" ]
		[ "$(ls -A "$c3_hostdata")" = "$data0" ]       # the real data directory: no pg_hba.conf appeared
		[ "$(sha256sum <"$saved")" = "$orig" ]
		pgt_in_ctr c3 rm "$c3_etc"
	done
	pgt_in_ctr c3 mv "$c3_etc.old" "$c3_etc"
	run pe c3 unlock --state-dir "$SD"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$hba")" = "$orig" ]
	[ "$(fileid "$hba")" = "$id0" ]
	inside c3 app; accepted
}

@test "agent --once: a rule '--app X --idle-for 1s' / terminate ends that container session and leaves another" {
	RULES=$(mktemp -d "$c1_dir/rules.XXXXXX")
	chmod 755 "$RULES"
	printf '[ctr-idle]\nmatch = --app ag_x --idle-for 1s\naction = terminate\n' >"$RULES/ctr.conf"
	chmod 644 "$RULES/ctr.conf"
	hold c1 "host=127.0.0.1 user=app dbname=postgres application_name=ag_x" 1 idle "$c1_dir/run/agx"
	hold c1 "host=127.0.0.1 user=app dbname=postgres application_name=ag_y" 1 idle "$c1_dir/run/agy"
	x=$(hostpid c1 "$(nspids_of "$c1_dir/run/agx")")
	y=$(hostpid c1 "$(nspids_of "$c1_dir/run/agy")")
	sleep 1.5
	run --separate-stderr "$PGEVICT" --cluster "$c1_port" agent --rules "$RULES" --once --json
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^{')" -eq 1 ]
	[ "$(jq -r '.rule + " " + .outcome' <<<"$output")" = "ctr-idle gone" ]
	[ "$(jq -r .pid <<<"$output")" = "$x" ]
	wait_gone "$x"
	alive "$y"
	no_reset "$c1_log"
}

# in_docker_cgroup VAR: move VAR's postmaster into a cgroup named the way
# Docker's systemd driver names a container's (system.slice/docker-ID.scope)
# on the cgroup2 hierarchy; sets DOCKER_ID, DOCKER_CG, DOCKER_MADE (the
# directories made here, to remove).  Returns 1 (with a reason on stdout)
# where no cgroup2 hierarchy can be written.
in_docker_cgroup() {
	local pid="${1}_pid" root d
	root=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
	[ -n "$root" ] && [ -w "$root" ] || { echo "no writable cgroup2 hierarchy"; return 1; }
	DOCKER_ID=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
	DOCKER_MADE=()
	for d in "$root/system.slice" "$root/system.slice/docker-$DOCKER_ID.scope"; do
		if [ ! -d "$d" ]; then
			mkdir "$d" 2>/dev/null || { echo "cannot make a cgroup under $root"; return 1; }
			DOCKER_MADE=("$d" "${DOCKER_MADE[@]}")
		fi
	done
	DOCKER_CG=$root
	echo "${!pid}" >"$root/system.slice/docker-$DOCKER_ID.scope/cgroup.procs"
}

out_of_docker_cgroup() {
	local pid="${1}_pid" d
	[ -n "${DOCKER_CG:-}" ] || return 0
	echo "${!pid}" >"$DOCKER_CG/cgroup.procs" || true
	for d in "${DOCKER_MADE[@]}"; do rmdir "$d" 2>/dev/null || true; done
	DOCKER_CG=
}

@test "a postmaster in a cgroup named like a Docker container's: clusters names docker and its short id; --cluster takes the id (12 hex digits or more, or docker:ID), never 11" {
	# not in $(...): its variables are the test's
	in_docker_cgroup c1 >"$SD/why" || skip "$(cat "$SD/why")"
	run --separate-stderr "$PGEVICT" --cluster "$c1_port" clusters --json
	echo "$output"
	out=$output
	run "$PGEVICT" clusters
	echo "$output"
	text=$output
	rc=0
	for spec in "${DOCKER_ID:0:12}" "$DOCKER_ID" "docker:${DOCKER_ID:0:20}"; do
		run --separate-stderr "$PGEVICT" --cluster "$spec" clusters --json
		[ "$status" -eq 0 ] && [ "$(jq -r .pid <<<"$output")" = "$c1_pid" ] || rc=1
	done
	run --separate-stderr "$PGEVICT" --cluster "${DOCKER_ID:0:11}" clusters --json
	s11=$status
	run --separate-stderr "$PGEVICT" --cluster "podman:${DOCKER_ID:0:12}" clusters --json
	sp=$status
	out_of_docker_cgroup c1
	[ "$(jq -r .container.runtime <<<"$out")" = docker ]
	[ "$(jq -r .container.id <<<"$out")" = "$DOCKER_ID" ]
	[[ "$text" == *"docker:${DOCKER_ID:0:12}  "*"$c1_data"* ]]
	[ "$rc" -eq 0 ]
	[ "$s11" -eq 2 ]
	[ "$sp" -eq 2 ]
	# back out of it, it is no container again
	run --separate-stderr "$PGEVICT" --cluster "$c1_port" clusters --json
	[ "$(jq -r .container.runtime <<<"$output")" = null ]
}
