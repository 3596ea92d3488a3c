#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Lockdown on a host where the postgres account is hostile: it swaps the
# directory of pg_hba.conf between lockdown and unlock, plants symlinks and
# FIFOs, stages another hba_file; two data directories differ only in '-'
# and '_'.  Each test checks what an attacker would want to break: no file
# outside the cluster written (sha256, owner, mode), no original lost, no
# hang, no escape byte on the terminal.

load common
bats_require_minimum_version 1.5.0

HBA='local all all peer
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
'

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	id postgres >/dev/null 2>&1 || return 0
	local bin base
	bin=$(pgt_bindir) || return 1
	# h1: hba_file in a config directory of its own, owned by postgres
	# like Debian's /etc/postgresql/15/main (whose parent postgres owns)
	base=$(mktemp -d /tmp/pgevict-test.XXXXXX)
	PGT_DIRS+=("$base")
	chmod 755 "$base"
	mkdir -p "$base/etc15/main"
	printf '%s' "$HBA" >"$base/etc15/main/pg_hba.conf"
	chown -R postgres:postgres "$base/etc15"
	pgt_cluster_create h1 "hba_file='$base/etc15/main/pg_hba.conf'" || return 1
	h1_conf=$base/etc15/main
	# h2: the usual layout
	pgt_cluster_create h2 || return 1
	cp -p "$h2_data/pg_hba.conf" "$h2_dir/hba.orig"
	# d1, d2: data directories /tmp/pgevict-test.X/pg-main and .../pg_main
	pgt_cluster_create d1 || return 1
	pgt_cluster_create d2 || return 1
	base=$(mktemp -d /tmp/pgevict-test.XXXXXX)
	PGT_DIRS+=("$base")
	chmod 755 "$base"
	local v new
	for v in d1 d2; do
		local data="${v}_data" dir="${v}_dir"
		[ "$v" = d1 ] && new=$base/pg-main || new=$base/pg_main
		pgt_as_postgres "$bin/pg_ctl" -D "${!data}" -m fast -w stop >/dev/null || return 1
		mv "${!data}" "$new"
		echo "# the original of $new" >>"$new/pg_hba.conf"
		pgt_as_postgres "$bin/pg_ctl" -D "$new" -l "${!dir}/server.log" -w -t 60 start >/dev/null || return 1
		PGT_DATADIRS+=("$new")
		printf -v "$data" '%s' "$new"
	done
	export h1_dir h1_data h1_sock h1_port h1_conf h2_dir h2_data h2_sock h2_port d1_data d2_data d1_port d2_port
}

teardown_file() {
	pgt_cleanup
}

setup() {
	need_root
	SD=$(mktemp -d /tmp/pgevict-state.XXXXXX)
	OTHER=$(mktemp -d /tmp/pgevict-other.XXXXXX)     # root's: nothing may appear in it
	chmod 755 "$OTHER"
}

teardown() {
	rm -rf "$SD" "$OTHER"
}

# pe VAR ARGS: pgevict on cluster VAR with this test's state directory.
pe() { local d="${1}_data"; shift; "$PGEVICT" --cluster "${!d}" "$@" --state-dir "$SD"; }

as_pg() { runuser -u postgres -- "$@"; }

tcp_refused() {
	local port="${1}_port"
	run env PGCONNECT_TIMEOUT=5 psql -X -At -h 127.0.0.1 -p "${!port}" -U postgres -d postgres -c 'select 1'
	[ "$status" -ne 0 ] && [[ "$output" == *"pg_hba.conf rejects connection"* ]]
}

tcp_ok() {
	local port="${1}_port"
	run env PGCONNECT_TIMEOUT=5 psql -X -At -h 127.0.0.1 -p "${!port}" -U postgres -d postgres -c 'select 1'
	[ "$status" -eq 0 ] && [ "$output" = 1 ]
}

fileid() { stat -c '%u %g %a' "$1"; }

@test "(a, f) the file is written as its owner: postgres-owned after lockdown; the directory swapped for a symlink or another directory between lockdown and unlock: unlock refuses, writes nothing there, the original stays saved; a directory the owner cannot write is refused" {
	orig=$(sha256sum <"$h1_conf/pg_hba.conf")
	id0=$(fileid "$h1_conf/pg_hba.conf")
	# (f) a directory the file's owner cannot write: refused, untouched
	chown root:root "$h1_conf"
	run pe h1 lockdown
	chown postgres:postgres "$h1_conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot write '$h1_conf/pg_hba.conf': Permission denied"* ]]
	[ "$(sha256sum <"$h1_conf/pg_hba.conf")" = "$orig" ]
	[ -z "$(find "$h1_conf" -name '*.pgevict-lock')" ]
	tcp_ok h1

	run pe h1 lockdown
	[ "$status" -eq 0 ]
	tcp_refused h1
	[ "$(fileid "$h1_conf/pg_hba.conf")" = "$id0" ]
	[ "$(stat -c %U "$h1_conf/pg_hba.conf")" = postgres ]
	saved=$(ls "$SD"/*/original)
	[ "$(sha256sum <"$saved")" = "$orig" ]
	jq -e '.hba_dir_ino > 0' "$SD"/*/state.json >/dev/null

	# (a) postgres swaps the directory for a symlink to root's directory
	as_pg mv "$h1_conf" "$h1_conf.old"
	as_pg ln -s "$OTHER" "$h1_conf"
	run pe h1 unlock
	[ "$status" -eq 1 ]
	[[ "$output" == *"the directory of '$h1_conf/pg_hba.conf' is not the one locked down (it was replaced)"*"$saved"* ]]
	[ -z "$(ls -A "$OTHER")" ]
	[ "$(sha256sum <"$saved")" = "$orig" ]
	# ... or for another real directory
	as_pg rm "$h1_conf"
	as_pg mkdir "$h1_conf"
	run pe h1 unlock
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not the one locked down (it was replaced)"* ]]
	[ -z "$(ls -A "$h1_conf")" ]
	[ "$(sha256sum <"$saved")" = "$orig" ]
	# the directory back: unlock restores, byte for byte, as postgres's
	as_pg rmdir "$h1_conf"
	as_pg mv "$h1_conf.old" "$h1_conf"
	run pe h1 unlock
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$h1_conf/pg_hba.conf")" = "$orig" ]
	[ "$(fileid "$h1_conf/pg_hba.conf")" = "$id0" ]
	tcp_ok h1
}

@test "(b) pg_hba.conf a postgres-owned symlink to a root-only file: lockdown and status refuse, naming --hba-file, the root file untouched; --hba-file naming the real file locks down and unlock restores it" {
	printf 'root only\n' >"$OTHER/secret"
	chmod 600 "$OTHER/secret"
	chmod 700 "$OTHER"
	sec=$(sha256sum <"$OTHER/secret")
	secid=$(fileid "$OTHER/secret")
	as_pg mv "$h2_data/pg_hba.conf" "$h2_data/hba.real"
	as_pg ln -s "$OTHER/secret" "$h2_data/pg_hba.conf"
	run pe h2 lockdown
	[ "$status" -eq 2 ]
	[[ "$output" == *"'$h2_data/pg_hba.conf' is reached through a symlink that 'postgres' can change"*"--hba-file"* ]]
	run pe h2 status
	[ "$status" -eq 2 ]
	[[ "$output" == *"--hba-file"* ]]
	[ "$(sha256sum <"$OTHER/secret")" = "$sec" ]
	[ "$(fileid "$OTHER/secret")" = "$secid" ]
	[ "$(ls -A "$OTHER")" = secret ]
	# the link now names the real file; the operator names it
	as_pg ln -sfn "$h2_data/hba.real" "$h2_data/pg_hba.conf"
	run pe h2 lockdown --hba-file "$h2_data/hba.real"
	[ "$status" -eq 0 ]
	tcp_refused h2
	[ -L "$h2_data/pg_hba.conf" ]
	# unlock without --hba-file: the record is of another file
	run pe h2 unlock
	[ "$status" -eq 2 ]
	[[ "$output" == *"--hba-file '$h2_data/hba.real'"* ]]
	run pe h2 unlock --hba-file "$h2_data/hba.real"
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$h2_data/hba.real")" = "$(sha256sum <"$h2_dir/hba.orig")" ]
	tcp_ok h2
	rm "$h2_data/pg_hba.conf"
	mv "$h2_data/hba.real" "$h2_data/pg_hba.conf"
	[ "$(sha256sum <"$OTHER/secret")" = "$sec" ]
}

@test "(c) a FIFO as pg_hba.conf: status and lockdown end at once with one clear line" {
	as_pg mv "$h2_data/pg_hba.conf" "$h2_data/hba.real"
	as_pg mkfifo "$h2_data/pg_hba.conf"
	t0=$(date +%s)
	run timeout 20 "$PGEVICT" --cluster "$h2_data" status --state-dir "$SD"
	st1=$status out1=$output
	run timeout 20 "$PGEVICT" --cluster "$h2_data" lockdown --state-dir "$SD"
	st2=$status out2=$output
	t1=$(date +%s)
	rm "$h2_data/pg_hba.conf"
	mv "$h2_data/hba.real" "$h2_data/pg_hba.conf"
	[ "$st1" -eq 1 ] && [ "$st2" -eq 1 ]
	[ $((t1 - t0)) -lt 10 ]
	[ "$out1" = "pgevict: cannot read '$h2_data/pg_hba.conf': not a regular file (a FIFO, directory, device or socket?)" ]
	[ "$out2" = "$out1" ]
	[ ! -e "$SD"/*/state.json ]
	tcp_ok h2
}

@test "(d) two data directories that differ only in '-' and '_': each has its own state and gets its own original back" {
	o1=$(sha256sum <"$d1_data/pg_hba.conf")
	o2=$(sha256sum <"$d2_data/pg_hba.conf")
	[ "$o1" != "$o2" ]
	run pe d1 lockdown
	[ "$status" -eq 0 ]
	run pe d2 lockdown
	[ "$status" -eq 0 ]
	tcp_refused d1
	tcp_refused d2
	[ "$(ls "$SD" | wc -l)" -eq 2 ]
	[ "$(jq -r .data_dir "$SD"/*pg_main.*/state.json | LC_ALL=C sort | tr '\n' ' ')" = "$d1_data $d2_data " ]
	run pe d1 unlock
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$d1_data/pg_hba.conf")" = "$o1" ]
	tcp_ok d1
	tcp_refused d2
	run pe d2 unlock
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$d2_data/pg_hba.conf")" = "$o2" ]
	tcp_ok d2
}

@test "(d) a state whose record names another data directory is refused" {
	run pe d1 lockdown
	[ "$status" -eq 0 ]
	sd=$(ls -d "$SD"/*)
	jq --arg d "$d2_data" '.data_dir = $d' "$sd/state.json" >"$sd/state.tmp"
	cp "$sd/state.json" "$sd/state.good"
	mv "$sd/state.tmp" "$sd/state.json"
	run pe d1 unlock
	[ "$status" -eq 1 ]
	[[ "$output" == *"is the state of the data directory '$d2_data', not of '$d1_data'"* ]]
	mv "$sd/state.good" "$sd/state.json"
	run pe d1 unlock
	[ "$status" -eq 0 ]
	tcp_ok d1
}

# Needs discovery to set hba_conflict (the trust-discovery branch): until
# that branch is merged, discovery without SQL takes the staged value and
# this test FAILS.
@test "(e) [needs discovery's hba_conflict] without SQL, an hba_file staged with ALTER SYSTEM and no restart: lockdown refuses unless --hba-file names the file" {
	decoy=$OTHER/pg_hba.conf
	printf '%s' "$HBA" >"$decoy"
	chown -R postgres:postgres "$OTHER"
	dsha=$(sha256sum <"$decoy")
	orig=$(sha256sum <"$h2_data/pg_hba.conf")
	pgt_sql h2 "alter system set hba_file = '$decoy'" >/dev/null
	run pe h2 --no-sql lockdown
	st=$status out=$output
	pgt_sql h2 "alter system reset hba_file" >/dev/null
	[ "$(sha256sum <"$decoy")" = "$dsha" ]
	[ "$(sha256sum <"$h2_data/pg_hba.conf")" = "$orig" ]
	[ "$st" -eq 2 ]
	[[ "$out" == *"--hba-file"* ]]
	pgt_sql h2 "alter system set hba_file = '$decoy'" >/dev/null
	run pe h2 --no-sql lockdown --hba-file "$h2_data/pg_hba.conf"
	st=$status
	run pe h2 --no-sql unlock --hba-file "$h2_data/pg_hba.conf"
	st2=$status
	pgt_sql h2 "alter system reset hba_file" >/dev/null
	[ "$st" -eq 0 ] && [ "$st2" -eq 0 ]
	[ "$(sha256sum <"$decoy")" = "$dsha" ]
	[ "$(sha256sum <"$h2_data/pg_hba.conf")" = "$orig" ]
}

@test "(g) escape bytes in pg_hba.conf never reach the terminal (a parse error's line, --dry-run's lines); JSON keeps them" {
	cp -p "$h2_data/pg_hba.conf" "$h2_dir/hba.keep"
	printf 'host all all 10.9.9.9/32 trust # \033]0;owned\007\nhots\033[2J all all trust\n' >>"$h2_data/pg_hba.conf"
	run pe h2 lockdown --dry-run
	out=$output st=$status
	run --separate-stderr pe h2 lockdown --dry-run --json
	cp -p "$h2_dir/hba.keep" "$h2_data/pg_hba.conf"
	[ "$st" -eq 0 ]
	[[ "$out" == *"invalid connection type \"hots"'\x1b'"[2J\""* ]]
	if printf '%s' "$out" | grep -q $'\033'; then false; fi
	if printf '%s' "$out" | grep -q $'\007'; then false; fi
	[ "$status" -eq 0 ]
	jq -r '.notes[]' <<<"$output" | grep -q $'hots\033\\[2J'
	[ -z "$stderr" ]
}
