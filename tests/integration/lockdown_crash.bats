#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# kill -9 at every write, fsync, rename, unlink and signal of `lockdown` and
# of `unlock` (strace's fault injection: the process dies on entry to the
# Nth call, so the call never happens).  After each crash PostgreSQL can
# load the file on disk, the original is on disk or saved byte for byte,
# `status` says which file is on disk, and `unlock` brings the original
# back, byte for byte, with connections accepted again.

load common
bats_require_minimum_version 1.5.0

CUTS="write fsync rename renameat renameat2 unlink unlinkat pidfd_send_signal"

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	command -v strace >/dev/null || return 0
	pgt_cluster_create c1 || return 1
	cp -p "$c1_data/pg_hba.conf" "$c1_dir/hba.orig"
	export c1_dir c1_data c1_sock c1_port c1_name c1_log
}

teardown_file() {
	pgt_cleanup
}

setup() {
	need_root
	command -v strace >/dev/null || skip "needs strace (apt-get install strace)"
	SD="$c1_dir/state"
	ORIG_SHA=$(sha256sum <"$c1_dir/hba.orig")
}

pe() { "$PGEVICT" --cluster "$c1_data" "$@" --state-dir "$SD"; }

reset() {
	rm -rf "$SD"
	cp -p "$c1_dir/hba.orig" "$c1_data/pg_hba.conf"
	pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "$c1_data" reload >/dev/null
	sleep 0.2
}

# How many calls of SYSCALL a clean run of "pe ARGS" makes.
calls() {
	local sc=$1; shift
	strace -qq -e trace="$sc" -o "$c1_dir/run/count" "$PGEVICT" --cluster "$c1_data" "$@" --state-dir "$SD" \
		>/dev/null 2>&1 || true
	grep -c "^$sc(" "$c1_dir/run/count" || true
}

crash_at() {
	local sc=$1 n=$2; shift 2
	strace -qq -o /dev/null -e trace="$sc" -e inject="$sc:signal=KILL:when=$n" \
		"$PGEVICT" --cluster "$c1_data" "$@" --state-dir "$SD" >/dev/null 2>&1 || true
}

# The invariants after a crash; WHAT names the cut for the failure message.
check_after_crash() {
	local what=$1 sha saved
	sha=$(sha256sum <"$c1_data/pg_hba.conf")
	# PostgreSQL can load what is on disk (the owner's way in is kept by
	# every non-total lockdown, so SQL works)
	[ "$(pgt_sql c1 "select count(*) from pg_hba_file_rules where error is not null")" = 0 ] ||
		{ echo "$what: PostgreSQL cannot load the file on disk" >&2; return 1; }
	# the file is the original or a whole lockdown file, never a mix
	if [ "$sha" != "$ORIG_SHA" ]; then
		head -n 1 "$c1_data/pg_hba.conf" | grep -q "^# pg_hba.conf written by pgevict lockdown" ||
			{ echo "$what: unknown file on disk" >&2; return 1; }
		saved=$(sha256sum <"$SD"/*/original 2>/dev/null || true)
		[ "$saved" = "$ORIG_SHA" ] || { echo "$what: the original is lost" >&2; return 1; }
	fi
	# status tells the truth about the file on disk
	run --separate-stderr pe status --json
	[ "$status" -eq 0 ] || { echo "$what: status failed: $output $stderr" >&2; return 1; }
	if [ "$sha" = "$ORIG_SHA" ]; then
		[ "$(jq -r .file <<<"$output")" = original ] || { echo "$what: status: $output" >&2; return 1; }
	else
		[ "$(jq -r .file <<<"$output")" = lockdown ] || { echo "$what: status: $output" >&2; return 1; }
		[ "$(jq -r .locked <<<"$output")" = true ] || { echo "$what: status: $output" >&2; return 1; }
	fi
	# unlock repairs
	run pe unlock
	[ "$status" -eq 0 ] || { echo "$what: unlock failed: $output" >&2; return 1; }
	[ "$(sha256sum <"$c1_data/pg_hba.conf")" = "$ORIG_SHA" ] || { echo "$what: not restored" >&2; return 1; }
	run env PGCONNECT_TIMEOUT=5 psql -X -At -h 127.0.0.1 -p "$c1_port" -U postgres -d postgres -c 'select 42'
	[ "$output" = 42 ] || { echo "$what: connections still refused: $output" >&2; return 1; }
	[ ! -e "$SD"/*/state.json ] || { echo "$what: state left behind" >&2; return 1; }
}

@test "kill -9 at every write, fsync, rename, unlink and signal of lockdown never loses the original; unlock repairs" {
	local sc n i total=0
	for sc in $CUTS; do
		reset
		n=$(calls "$sc" lockdown)
		pe unlock >/dev/null 2>&1
		for i in $(seq 1 "$n"); do
			reset
			crash_at "$sc" "$i" lockdown
			check_after_crash "lockdown killed at $sc #$i"
			total=$((total + 1))
		done
	done
	echo "# lockdown: $total crash points checked" >&3
	[ "$total" -ge 10 ]
}

@test "kill -9 at every write, fsync, rename, unlink and signal of unlock never loses the original; unlock again repairs" {
	local sc n i total=0
	for sc in $CUTS; do
		reset
		pe lockdown >/dev/null
		n=$(calls "$sc" unlock)
		for i in $(seq 1 "$n"); do
			reset
			pe lockdown >/dev/null
			crash_at "$sc" "$i" unlock
			check_after_crash "unlock killed at $sc #$i"
			total=$((total + 1))
		done
	done
	echo "# unlock: $total crash points checked" >&3
	[ "$total" -ge 5 ]
}
