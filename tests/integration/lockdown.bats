#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Emergency lockdown on real clusters: what a DBA checks with psql and
# sha256sum after `pgevict lockdown` and `pgevict unlock`, the options,
# and a kill -9 at every write, fsync, rename and signal of both.

load common
bats_require_minimum_version 1.5.0

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	pgt_cluster_create k1 || return 1
	pgt_sql k1 "create role app login; create role bob login; create role gone nologin" >/dev/null
	pgt_sql k1 "create database shop" >/dev/null
	cp -p "$k1_data/pg_hba.conf" "$k1_dir/hba.orig"
	export k1_dir k1_data k1_sock k1_port k1_name k1_log
}

teardown_file() {
	pgt_cleanup
}

# Clusters a test makes for itself (k2, k3) go with it, passed or not:
# their clients by pid (while the start time still says it is the same
# process), then the server, then the directory.
teardown() {
	local v d p start
	for v in k2 k3; do
		d="${v}_dir"
		[ -n "${!d:-}" ] && [ -d "${!d}" ] || continue
		if [ -f "${!d}/run/pids" ]; then
			while read -r p start; do
				[ "$(cut -d' ' -f22 "/proc/$p/stat" 2>/dev/null)" = "$start" ] || continue
				kill -TERM "$p" 2>/dev/null || true
			done <"${!d}/run/pids"
		fi
		d="${v}_data"
		[ ! -f "${!d}/postmaster.pid" ] ||
			pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "${!d}" -m fast -w -t 30 stop >/dev/null 2>&1 || true
		d="${v}_dir"
		case "${!d}" in /tmp/pgevict-test.*) rm -rf "${!d}" ;; esac
	done
}

setup() {
	need_root
	SD="$k1_dir/state.$BATS_TEST_NUMBER"
	mkdir -p "$SD"
	# every test starts from the original rules, loaded
	if ! cmp -s "$k1_dir/hba.orig" "$k1_data/pg_hba.conf"; then
		cp -p "$k1_dir/hba.orig" "$k1_data/pg_hba.conf"
		pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "$k1_data" reload >/dev/null
		sleep 0.3
	fi
	pgt_sql k1 "alter role app login; alter role bob login; alter database shop allow_connections true" >/dev/null
	ORIG_SHA=$(sha256sum <"$k1_dir/hba.orig")
}

pe() { "$PGEVICT" --cluster "$k1_data" "$@" --state-dir "$SD"; }

# tcp ROLE [HOST] [DB]: one connection over TCP; output in $output.
tcp() {
	run env PGCONNECT_TIMEOUT=5 psql -X -At -h "${2:-127.0.0.1}" -p "$k1_port" -U "$1" -d "${3:-postgres}" -c 'select 42'
}

# owner_unix: the cluster owner over the Unix socket (peer).
owner_unix() {
	run runuser -u postgres -- env PGCONNECT_TIMEOUT=5 psql -X -At -h "$k1_sock" -p "$k1_port" -U postgres -d postgres -c 'select 42'
}

file_sha() { sha256sum <"$k1_data/pg_hba.conf"; }

refused_by_hba() {
	[ "$status" -ne 0 ] && [[ "$output" == *"pg_hba.conf rejects connection"* ]]
}

@test "lockdown refuses TCP as any role with pg_hba's message, keeps the owner's Unix socket and existing sessions; unlock restores the file byte for byte" {
	pgt_hold k1 "host=127.0.0.1 user=app dbname=postgres" 1 idle "$k1_dir/run/l1"
	h=$PGT_HOLD_PID
	bp=$(cut -d' ' -f1 "$k1_dir/run/l1")
	run pe status --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .locked <<<"$output")" = false ]

	run pe lockdown
	[ "$status" -eq 0 ]
	[[ "$output" == *"rejected by pg_hba.conf"* ]]
	for role in app bob postgres; do
		tcp "$role"; refused_by_hba
		tcp "$role" ::1; refused_by_hba
	done
	owner_unix
	[ "$status" -eq 0 ] && [ "$output" = 42 ]
	alive "$bp"                       # existing sessions survive an HBA change
	run pe status --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .locked <<<"$output")" = true ]
	[ "$(jq -r .file <<<"$output")" = lockdown ]
	[ "$(jq -r .loaded <<<"$output")" = true ]
	[ -n "$(jq -r .since <<<"$output")" ]

	run pe unlock
	[ "$status" -eq 0 ]
	[ "$(file_sha)" = "$ORIG_SHA" ]
	[ "$(stat -c '%U:%G %a' "$k1_data/pg_hba.conf")" = "$(stat -c '%U:%G %a' "$k1_dir/hba.orig")" ]
	tcp app; [ "$status" -eq 0 ] && [ "$output" = 42 ]
	run pe status --json
	[ "$(jq -r .locked <<<"$output")" = false ]
	[ ! -e "$SD"/*/state.json ]
	pgt_release "$h"
}

@test "--total refuses everyone, the owner over the Unix socket too; unlock still works" {
	run pe lockdown --total
	[ "$status" -eq 0 ]
	owner_unix; refused_by_hba
	tcp postgres; refused_by_hba
	run --separate-stderr pe status --json
	[ "$(jq -r .locked <<<"$output")" = true ]
	[ "$(jq -r .options.total <<<"$output")" = true ]
	run pe unlock
	[ "$status" -eq 0 ]
	[ "$(file_sha)" = "$ORIG_SHA" ]
	owner_unix; [ "$status" -eq 0 ]
	tcp app; [ "$status" -eq 0 ]
}

@test "--kick ends the sessions the new rules refuse, and only those" {
	pgt_hold k1 "host=127.0.0.1 user=app dbname=postgres" 2 idle "$k1_dir/run/k1"
	h1=$PGT_HOLD_PID
	PGT_OSUSER=postgres pgt_hold k1 "host=$k1_sock user=postgres dbname=postgres" 1 idle "$k1_dir/run/k2"
	h2=$PGT_HOLD_PID
	run pe lockdown --kick --json
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r 'select(.outcome) | .outcome' | sort -u)" = gone ]
	for p in $(cut -d' ' -f1 "$k1_dir/run/k1"); do refute alive "$p"; done
	for p in $(cut -d' ' -f1 "$k1_dir/run/k2"); do alive "$p"; done
	run pe unlock
	[ "$status" -eq 0 ]
	pgt_release "$h1"; pgt_release "$h2"
}

@test "--allow-role and --allow-host keep only those ways in, narrowed from the original rules" {
	run pe lockdown --allow-role app
	[ "$status" -eq 0 ]
	tcp app; [ "$status" -eq 0 ] && [ "$output" = 42 ]
	tcp app ::1; [ "$status" -eq 0 ]
	tcp bob; refused_by_hba
	# a second lockdown adds to the first: bob may come from ::1 only
	run pe lockdown --allow-host ::1/128
	[ "$status" -eq 0 ]
	tcp bob ::1; [ "$status" -eq 0 ]
	tcp bob; refused_by_hba
	tcp app; [ "$status" -eq 0 ]
	run pe status --json
	[ "$(jq -c .options.allow_role <<<"$output")" = '["app"]' ]
	[ "$(jq -c .options.allow_host <<<"$output")" = '["::1/128"]' ]
	run pe unlock
	[ "$status" -eq 0 ]
	[ "$(file_sha)" = "$ORIG_SHA" ]
	run pe lockdown --total --allow-role app
	[ "$status" -eq 2 ]
	[ "$(file_sha)" = "$ORIG_SHA" ]
}

@test "--role sets NOLOGIN and ends its sessions, --database refuses new connections; unlock undoes only what it did" {
	pgt_hold k1 "host=127.0.0.1 user=bob dbname=postgres" 1 idle "$k1_dir/run/r1"
	h=$PGT_HOLD_PID
	bp=$(cut -d' ' -f1 "$k1_dir/run/r1")
	run pe lockdown --role bob --role gone --database shop
	[ "$status" -eq 0 ]
	[ "$(file_sha)" = "$ORIG_SHA" ]           # no file change for these
	[ "$(pgt_sql k1 "select rolcanlogin from pg_roles where rolname='bob'")" = f ]
	[ "$(pgt_sql k1 "select datallowconn from pg_database where datname='shop'")" = f ]
	refute alive "$bp"
	tcp bob; [ "$status" -ne 0 ] && [[ "$output" == *"not permitted to log in"* ]]
	tcp app 127.0.0.1 shop; [ "$status" -ne 0 ] && [[ "$output" == *"not currently accepting connections"* ]]
	run pe status --json
	[ "$(jq -r .locked <<<"$output")" = true ]
	[ "$(jq -c .options.role <<<"$output")" = '["bob","gone"]' ]
	run pe unlock
	[ "$status" -eq 0 ]
	[ "$(pgt_sql k1 "select rolcanlogin from pg_roles where rolname='bob'")" = t ]
	[ "$(pgt_sql k1 "select rolcanlogin from pg_roles where rolname='gone'")" = f ]   # it was NOLOGIN before
	tcp app 127.0.0.1 shop; [ "$status" -eq 0 ]
	run pe lockdown --role postgres
	[ "$status" -eq 2 ]
	[[ "$output" == *"refusing to lock out the cluster owner"* ]]
	run pe unlock
	pgt_release "$h"
}

@test "a second lockdown never overwrites the saved original; a file changed meanwhile is kept aside by unlock" {
	run pe lockdown
	[ "$status" -eq 0 ]
	run pe lockdown --total
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$SD"/*/original)" = "$ORIG_SHA" ]
	echo "# edited by a colleague" >>"$k1_data/pg_hba.conf"
	edited=$(file_sha)
	run --separate-stderr pe status --json
	[ "$(jq -r .file <<<"$output")" = other ]
	[ "$(jq -r .repair <<<"$output")" != null ]
	run pe unlock
	[ "$status" -eq 0 ]
	[[ "$output" == *"kept in"* ]]
	[ "$(file_sha)" = "$ORIG_SHA" ]
	[ "$(sha256sum <"$(ls "$SD"/*/displaced-*)")" = "$edited" ]
}

@test "two runs never interleave; --dry-run changes nothing; bad input is one line and exit 2" {
	pe lockdown --dry-run >"$k1_dir/run/dry"
	grep -q "^host    all             all             0.0.0.0/0               reject$" "$k1_dir/run/dry"
	[ "$(file_sha)" = "$ORIG_SHA" ]
	[ -z "$(ls -A "$SD")" ]
	run pe lockdown --role nosuchrole
	[ "$status" -eq 2 ]
	[[ "$output" == *"there is no role 'nosuchrole'"* ]]
	run pe status --json
	[ "$(jq -r .locked <<<"$output")" = false ]
	[ "$(jq -r .phase <<<"$output")" = null ]
	# hold the cluster's lock as another run would
	d=$(ls -d "$SD"/*data.*)
	flock -n "$d/lock" sleep 3 </dev/null >/dev/null 2>&1 3>&- 4>&- &
	fl=$!
	sleep 0.3
	run pe lockdown
	[ "$status" -eq 1 ]
	[[ "$output" == *"another pgevict lockdown or unlock is running"* ]]
	[ "$(file_sha)" = "$ORIG_SHA" ]
	wait "$fl"
	run pe lockdown --allow-host not-a-net
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	run "$PGEVICT" lockdown --allow-role '' --state-dir "$SD"
	[ "$status" -eq 2 ]
	run "$PGEVICT" status --kick
	[ "$status" -eq 2 ]
	[ "$(file_sha)" = "$ORIG_SHA" ]
}

@test "a missing pg_hba.conf is the operator's to name: one line, exit 2, nothing written; --role alone needs no file" {
	mv "$k1_data/pg_hba.conf" "$k1_dir/hba.away"
	run pe lockdown
	st=$status out=$output
	run pe lockdown --hba-file "$k1_dir/nodir/pg_hba.conf"
	st2=$status out2=$output
	run pe lockdown --role bob
	st3=$status
	run pe unlock
	st4=$status
	mv "$k1_dir/hba.away" "$k1_data/pg_hba.conf"
	[ "$st3" -eq 0 ] && [ "$st4" -eq 0 ]
	[ "$(pgt_sql k1 "select rolcanlogin from pg_roles where rolname='bob'")" = t ]
	[ "$st" -eq 2 ]
	[ "$out" = "pgevict: cannot read '$k1_data/pg_hba.conf': No such file or directory" ]
	[ "$st2" -eq 2 ]
	[ "$out2" = "pgevict: cannot read '$k1_dir/nodir/pg_hba.conf': No such file or directory" ]
	[ ! -e "$SD"/*/state.json ]
	[ ! -e "$SD"/*/original ]
	[ "$(file_sha)" = "$ORIG_SHA" ]
	tcp app; [ "$status" -eq 0 ]
}

@test "a configuration manager in the process table is warned about" {
	cp /bin/sleep "$k1_dir/run/patroni"
	"$k1_dir/run/patroni" 30 </dev/null >/dev/null 2>&1 3>&- 4>&- &
	fake=$!
	run pe lockdown --dry-run
	kill "$fake"; wait "$fake" 2>/dev/null || true
	[[ "$output" == *"'patroni' is running"* ]]
}

@test "with two clusters on the host --cluster is required; a pg_hba.conf outside the data directory is found from postgresql.conf with --no-sql" {
	ext=$(mktemp -d /tmp/pgevict-hba.XXXXXX)
	chmod 755 "$ext"
	printf 'local all all peer\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' >"$ext/pg_hba.conf"
	# the file's owner must be able to write its directory (as on
	# Debian): pgevict writes as the owner
	chown postgres:postgres "$ext/pg_hba.conf" "$ext"
	sha=$(sha256sum <"$ext/pg_hba.conf")
	pgt_cluster_create k2 "hba_file='$ext/pg_hba.conf'"
	run "$PGEVICT" lockdown --dry-run --state-dir "$SD"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--cluster"* ]]
	run "$PGEVICT" --no-sql --cluster "$k2_data" lockdown --state-dir "$SD"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$ext/pg_hba.conf"* ]]
	[ "$(sha256sum <"$ext/pg_hba.conf")" != "$sha" ]
	run env PGCONNECT_TIMEOUT=5 psql -X -At -h 127.0.0.1 -p "$k2_port" -U postgres -d postgres -c 'select 1'
	refused_by_hba
	run "$PGEVICT" --cluster "$k2_data" unlock --state-dir "$SD"
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$ext/pg_hba.conf")" = "$sha" ]
	pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "$k2_data" -m fast -w stop >/dev/null
	rm -rf "$ext"
}

@test "status tells whether the file on disk is what PostgreSQL has loaded, also without a lockdown" {
	run --separate-stderr pe status --json
	[ "$(jq -r .loaded <<<"$output")" = true ]
	# a typo, as by hand: PostgreSQL keeps the old rules, even after a reload
	echo "hots all all all trust" >>"$k1_data/pg_hba.conf"
	run --separate-stderr pe status --json
	[ "$(jq -r .loaded <<<"$output")" = false ]
	pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "$k1_data" reload >/dev/null
	sleep 0.3
	run --separate-stderr pe status --json
	[ "$(jq -r .loaded <<<"$output")" = false ]
	[ "$(jq -r .locked <<<"$output")" = false ]
	# a lockdown does not inherit the typo; unlock brings the file back
	# as it was, and says that PostgreSQL cannot load it
	typo=$(file_sha)
	run pe lockdown
	[ "$status" -eq 0 ]
	tcp app; refused_by_hba
	run pe unlock
	[ "$status" -eq 1 ]
	[[ "$output" == *"PostgreSQL cannot load it (line "*"invalid connection type"* ]]
	[ "$(file_sha)" = "$typo" ]
	run --separate-stderr pe status --json
	[ "$(jq -r .locked <<<"$output")" = false ]
	[ "$(jq -r .loaded <<<"$output")" = false ]
}

@test "a lockdown file PostgreSQL will not load is caught before the reload, or by the probe after it, and the original goes back" {
	# an original line PostgreSQL 15 refuses (ldap needs a base DN or a
	# prefix) is seen by pgevict's own parser now: --allow-* refuses to
	# build on it, and nothing is written
	cp -p "$k1_data/pg_hba.conf" "$k1_dir/hba.keep11"
	echo "host all app 10.99.0.0/16 ldap ldapserver=ldap.example.com" >>"$k1_data/pg_hba.conf"
	before=$(file_sha)
	run pe lockdown --allow-role app
	[ "$status" -eq 2 ]
	[[ "$output" == *"requires argument \"ldapbasedn\""*"--allow-* needs its rules"* ]]
	[ "$(file_sha)" = "$before" ]
	cp -p "$k1_dir/hba.keep11" "$k1_data/pg_hba.conf"
	# what pgevict cannot judge: an @file list it does not follow (the
	# server cannot open it, so it refuses the line); PostgreSQL keeps
	# running on the previous rules
	echo "host @/nonexistent/pgevict-dbs.txt app 10.99.0.0/16 md5" >>"$k1_data/pg_hba.conf"
	pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "$k1_data" reload >/dev/null
	before=$(file_sha)
	# with SQL: pg_hba_file_rules shows the error before any reload
	run pe lockdown --allow-role app
	[ "$status" -eq 1 ]
	[[ "$output" == *"PostgreSQL would not load the lockdown file"* ]]
	[ "$(file_sha)" = "$before" ]
	tcp bob; [ "$status" -eq 0 ]
	# without SQL: the probe still gets in, so the original goes back
	run pe --dsn "host=/nonexistent-socket-dir" lockdown --allow-role app
	[ "$status" -eq 1 ]
	[[ "$output" == *"did not load the new rules"* ]]
	[ "$(file_sha)" = "$before" ]
	tcp bob; [ "$status" -eq 0 ]
	run --separate-stderr pe status --json
	[ "$(jq -r .locked <<<"$output")" = false ]
	[ "$(jq -r .phase <<<"$output")" = null ]
}

@test "a rollback whose record cannot be put back says so, and unlock still repairs" {
	command -v strace >/dev/null || skip "needs strace (apt-get install strace)"
	run pe lockdown
	[ "$status" -eq 0 ]
	run pe unlock
	[ "$status" -eq 0 ]
	d=$(ls -d "$SD"/*/)
	d=${d%/}
	# a line pgevict cannot judge (an @file list it does not follow) that
	# the server refuses: the lockdown file is refused before the reload
	echo "host @/nonexistent/pgevict-dbs.txt app 10.99.0.0/16 md5" >>"$k1_data/pg_hba.conf"
	pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "$k1_data" reload >/dev/null
	before=$(file_sha)
	# every unlink of state.json fails: the first lockdown's record
	# cannot be removed when the file goes back
	run strace -qq -o /dev/null -P "$d/state.json" -e trace=unlink -e inject=unlink:error=EIO \
		"$PGEVICT" --cluster "$k1_data" lockdown --allow-role app --state-dir "$SD"
	[ "$status" -eq 1 ]
	[[ "$output" == *"PostgreSQL would not load the lockdown file"* ]]
	[[ "$output" == *"cannot put back the record in '$d' (Input/output error)"*"run \`pgevict unlock\`"* ]]
	[[ "$output" == *"is back as it was before this run"* ]]
	[ "$(file_sha)" = "$before" ]
	tcp bob; [ "$status" -eq 0 ]
	run --separate-stderr pe status --json
	[ "$(jq -r .phase <<<"$output")" = locking ]
	# the original is on disk: unlock clears the record, and says
	# PostgreSQL cannot load that original
	run pe unlock
	[ "$status" -eq 1 ]
	[[ "$output" == *"PostgreSQL cannot load it"* ]]
	[ ! -e "$d/state.json" ]
	[ "$(file_sha)" = "$before" ]
}

@test "every slot taken, the superuser's too: lockdown says it cannot prove it; with --kick it frees the slots and proves it" {
	pgt_cluster_create k3 "max_connections=8" "superuser_reserved_connections=2"
	pgt_sql k3 "create role app login" >/dev/null
	pgt_hold k3 "host=127.0.0.1 user=app dbname=postgres" 6 idle "$k3_dir/run/full"
	ha=$PGT_HOLD_PID
	PGT_OSUSER=postgres pgt_hold k3 "host=$k3_sock user=postgres dbname=postgres" 2 idle "$k3_dir/run/fullsu"
	hs=$PGT_HOLD_PID
	run pgt_sql k3 "select 1"
	[ "$status" -ne 0 ] && [[ "$output" == *"too many clients"* ]]
	sha=$(sha256sum <"$k3_data/pg_hba.conf")
	run "$PGEVICT" --cluster "$k3_data" lockdown --state-dir "$SD"
	[ "$status" -eq 1 ]
	[[ "$output" == *"NOT proven: no connection slot"* ]]
	head -n 1 "$k3_data/pg_hba.conf" | grep -q "written by pgevict lockdown"
	run "$PGEVICT" --cluster "$k3_data" lockdown --kick --json --state-dir "$SD"
	[ "$status" -eq 0 ]
	for p in $(cut -d' ' -f1 "$k3_dir/run/full"); do refute alive "$p"; done
	for p in $(cut -d' ' -f1 "$k3_dir/run/fullsu"); do kill -0 "$p"; done
	run env PGCONNECT_TIMEOUT=5 psql -X -At -h 127.0.0.1 -p "$k3_port" -U app -d postgres -c 'select 1'
	refused_by_hba
	run "$PGEVICT" --cluster "$k3_data" unlock --state-dir "$SD"
	[ "$status" -eq 0 ]
	[ "$(sha256sum <"$k3_data/pg_hba.conf")" = "$sha" ]
	refute grep -q "terminating any other active server processes" "$k3_log"
	pgt_release "$ha"; pgt_release "$hs"
	pgt_as_postgres "$(pgt_bindir)/pg_ctl" -D "$k3_data" -m fast -w stop >/dev/null
}

@test "a pg_hba.conf that is a symbolic link postgres can change is refused, naming --hba-file; with --hba-file the file is replaced and restored, the link stays a link" {
	mv "$k1_data/pg_hba.conf" "$k1_dir/hba.real"
	ln -s "$k1_dir/hba.real" "$k1_data/pg_hba.conf"
	run pe lockdown
	[ "$status" -eq 2 ]
	[[ "$output" == *"is reached through a symlink that 'postgres' can change"*"--hba-file"* ]]
	[ "$(sha256sum <"$k1_dir/hba.real")" = "$ORIG_SHA" ]
	run pe lockdown --hba-file "$k1_dir/hba.real"
	[ "$status" -eq 0 ]
	[ -L "$k1_data/pg_hba.conf" ]
	head -n 1 "$k1_dir/hba.real" | grep -q "written by pgevict lockdown"
	tcp app; refused_by_hba
	run pe unlock --hba-file "$k1_dir/hba.real"
	[ "$status" -eq 0 ]
	[ -L "$k1_data/pg_hba.conf" ]
	[ "$(sha256sum <"$k1_dir/hba.real")" = "$ORIG_SHA" ]
	tcp app; [ "$status" -eq 0 ]
	rm "$k1_data/pg_hba.conf"
	mv "$k1_dir/hba.real" "$k1_data/pg_hba.conf"
}
