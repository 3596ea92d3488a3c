#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Discovery on real clusters: clusters, ls, tree.  Two clusters run at once;
# sessions over TCP v4, TCP v6 and the Unix socket are checked against
# pg_stat_activity and against what the client itself saw (its port).

load common

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	pgt_cluster_create c1 || return 1
	pgt_cluster_create c2 "max_connections=6" "superuser_reserved_connections=2" || return 1
	# A database whose TCP logins need a password, for a client to stall in.
	sed -i '1i host stalldb all 127.0.0.1/32 scram-sha-256' "$c1_data/pg_hba.conf"
	pgt_sql c1 "select pg_reload_conf()" >/dev/null
	pgt_sql c1 "create role u1 login; create role u2 login; create extension dblink" >/dev/null
	pgt_sql c2 "create role u1 login" >/dev/null
	pgt_hold c1 "host=127.0.0.1 user=u1 dbname=postgres" 2 idle "$c1_dir/run/v4" || return 1
	pgt_hold c1 "host=::1 user=u2 dbname=postgres application_name=app6" 1 xact "$c1_dir/run/v6" || return 1
	PGT_OSUSER=postgres pgt_hold c1 "host=$c1_sock user=postgres dbname=postgres" 1 active "$c1_dir/run/unix" || return 1
	# A backend that also holds an outbound connection (dblink to c2).
	PGT_HOLD_SQL="select dblink_connect('o','host=127.0.0.1 port=$c2_port user=u1 dbname=postgres')" \
		pgt_hold c1 "host=127.0.0.1 user=postgres dbname=postgres application_name=withdblink" 1 idle "$c1_dir/run/dblink" || return 1
	export c1_dir c1_data c1_sock c1_port c1_name c2_dir c2_data c2_sock c2_port c2_name
}

teardown_file() {
	pgt_cleanup
}

setup() {
	need_root
}

@test "clusters finds both clusters with port, data directory, version, name and hba_file" {
	run --separate-stderr "$PGEVICT" clusters --json
	[ "$status" -eq 0 ]
	for v in c1 c2; do
		d="${v}_data"; p="${v}_port"; n="${v}_name"
		line=$(printf '%s\n' "$output" | jq -c --argjson p "${!p}" 'select(.port == $p)')
		[ -n "$line" ]
		[ "$(jq -r .data_directory <<<"$line")" = "${!d}" ]
		[ "$(jq -r .pid <<<"$line")" = "$(head -n 1 "${!d}/postmaster.pid")" ]
		[ "$(jq -r .version <<<"$line")" = "$(cat "${!d}/PG_VERSION")" ]
		[ "$(jq -r .cluster_name <<<"$line")" = "${!n}" ]
		[ "$(jq -r .hba_file <<<"$line")" = "${!d}/pg_hba.conf" ]
		[ "$(jq -r .status <<<"$line")" = "ready" ]
	done
}

@test "--cluster picks one cluster by port, by cluster_name and by data directory" {
	for spec in "$c1_port" "$c1_name" "$c1_data" "$c1_data/"; do
		run "$PGEVICT" --cluster "$spec" clusters --json
		[ "$status" -eq 0 ]
		[ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
		[ "$(jq -r .port <<<"$output")" = "$c1_port" ]
	done
}

@test "--cluster that matches nothing exits 2 with one line" {
	run "$PGEVICT" --cluster no_such_cluster ls
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no running cluster matches 'no_such_cluster'"* ]]
}

@test "TCP v4, TCP v6 and Unix sessions have the user, database and client port pg_stat_activity has" {
	ls_json --cluster "$c1_port"
	rows=$(pgt_sql c1 "select pid, usename, datname, coalesce(host(client_addr), ''), coalesce(client_port, -1) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()")
	[ -n "$rows" ]
	n=0
	while IFS='|' read -r pid user db addr port; do
		[ "$(jfield "$pid" user)" = "$user" ]
		[ "$(jfield "$pid" database)" = "$db" ]
		[ "$(jfield "$pid" source)" = "proc+sql" ]
		if [ "$port" = -1 ]; then
			[ "$(jfield "$pid" transport)" = unix ]
			[ "$(jfield "$pid" client_port)" = null ]
		else
			[ "$(jfield "$pid" transport)" = tcp ]
			[ "$(jfield "$pid" client_addr)" = "$addr" ]
			[ "$(jfield "$pid" client_port)" = "$port" ]
		fi
		n=$((n + 1))
	done <<<"$rows"
	[ "$n" -ge 5 ]
}

@test "client ports match what each client saw, without SQL too" {
	ls_json --cluster "$c1_port" --no-sql
	for f in v4 v6 dblink; do
		while read -r pid port; do
			[ "$(jfield "$pid" client_port)" = "$port" ]
			[ "$(jfield "$pid" source)" = proc ]
			[ "$(jfield "$pid" tcp_state)" = ESTABLISHED ]
		done <"$c1_dir/run/$f"
	done
	read -r pid _ <"$c1_dir/run/v6"
	[ "$(jfield "$pid" client_addr)" = "::1" ]
	[ "$(jfield "$pid" user)" = u2 ]
	[ "$(jfield "$pid" state)" = "idle in transaction" ]
	# Without SQL there are no SQL fields at all, not invented ones.
	[ "$(printf '%s\n' "$output" | jq --argjson p "$pid" 'select(.pid == $p) | has("application_name")')" = false ]
	read -r pid _ <"$c1_dir/run/unix"
	[ "$(jfield "$pid" transport)" = unix ]
	[ "$(jfield "$pid" state)" = active ]
}

@test "a backend's outbound dblink connection is not taken for its client" {
	ls_json --cluster "$c1_port"
	read -r pid port <"$c1_dir/run/dblink"
	[ "$(jfield "$pid" client_port)" = "$port" ]
	[ "$(jfield "$pid" application_name)" = withdblink ]
	# and the far end shows up in c2 as an ordinary client of c2
	ls_json --cluster "$c2_port" --user u1
	[ "$(printf '%s\n' "$output" | grep -c .)" -ge 1 ]
}

@test "auxiliary processes carry PostgreSQL's backend types" {
	ls_json --cluster "$c1_port" --all
	rows=$(pgt_sql c1 "select pid, backend_type from pg_stat_activity where backend_type <> 'client backend'")
	n=0
	while IFS='|' read -r pid type; do
		[ "$(jfield "$pid" backend_type)" = "$type" ]
		n=$((n + 1))
	done <<<"$rows"
	[ "$n" -ge 4 ]
	pm=$(head -n 1 "$c1_data/postmaster.pid")
	[ "$(printf '%s\n' "$output" | jq -r 'select(.backend_type == "checkpointer") | .ppid')" = "$pm" ]
}

@test "selectors: user, client CIDR v4 and v6, local, state, pid; kinds AND, repeats OR" {
	ls_json --cluster "$c1_port" --user u1
	[ "$(printf '%s\n' "$output" | jq -r .user | sort -u)" = u1 ]
	ls_json --cluster "$c1_port" --client ::1/128
	[ "$(printf '%s\n' "$output" | jq -r .user | sort -u)" = u2 ]
	ls_json --cluster "$c1_port" --client local
	[ "$(printf '%s\n' "$output" | jq -r .transport | sort -u)" = unix ]
	ls_json --cluster "$c1_port" --state "idle in transaction"
	[ "$(printf '%s\n' "$output" | jq -r .user)" = u2 ]
	ls_json --cluster "$c1_port" --user u1 --user u2 --client 127.0.0.0/8
	[ "$(printf '%s\n' "$output" | jq -r .user | sort -u)" = u1 ]
	read -r pid _ <"$c1_dir/run/v6"
	ls_json --pid "$pid"
	[ "$(printf '%s\n' "$output" | jq -r .pid)" = "$pid" ]
	ls_json --cluster "$c1_port" --app app6
	[ "$(printf '%s\n' "$output" | jq -r .pid)" = "$pid" ]
}

@test "a bad selector exits 2 with one line that names it" {
	for args in "--older-than 10" "--client 999.1.1.1" "--state bogus" "--pid x" "--idle-for 5m"; do
		# shellcheck disable=SC2086
		run "$PGEVICT" ls $args
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"${args%% *}"* ]]
	done
	run "$PGEVICT" ls --no-sql --app x
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	run "$PGEVICT" clusters --user x
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "every slot taken, the superuser's too: sessions still listed from /proc" {
	# c2: max_connections=6, 2 reserved; the dblink from c1 holds one slot.
	pgt_hold c2 "host=127.0.0.1 user=u1 dbname=postgres" 3 idle "$c2_dir/run/users"
	users=$PGT_HOLD_PID
	PGT_OSUSER=postgres pgt_hold c2 "host=$c2_sock user=postgres dbname=postgres" 2 idle "$c2_dir/run/supers"
	run pgt_sql c2 "select 1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"too many clients"* ]]
	run "$PGEVICT" --cluster "$c2_port" ls --json
	[ "$status" -eq 0 ]
	stdout_lines=$(printf '%s\n' "${lines[@]}" | grep -c '^{')
	[ "$stdout_lines" -eq 6 ]
	printf '%s\n' "$output" | grep -q "no SQL for cluster '$c2_name'.*too many clients"
	while read -r pid port; do
		line=$(printf '%s\n' "${lines[@]}" | grep '^{' | jq -c --argjson p "$pid" 'select(.pid == $p)')
		[ "$(jq -r .client_port <<<"$line")" = "$port" ]
		[ "$(jq -r .user <<<"$line")" = u1 ]
		[ "$(jq -r .source <<<"$line")" = proc ]
	done <"$c2_dir/run/users"
	# the slots, from the configuration files alone (no SQL)
	run --separate-stderr "$PGEVICT" --cluster "$c2_port" clusters --json
	[ "$status" -eq 0 ]
	[ "$(jq -c .slots <<<"$output")" = '{"used":6,"max":6,"superuser_reserved":2,"reserved":0,"free":0}' ]
	run --separate-stderr "$PGEVICT" --cluster "$c2_port" ls
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "cluster $c2_name (port $c2_port): slots 6/6 used, 0 free for ordinary roles (2 kept for superusers)" ]
	pgt_release "$PGT_HOLD_PID"
	pgt_release "$users"
}

@test "clusters and ls show slots used/max as pg_stat_activity and the settings count them" {
	run --separate-stderr "$PGEVICT" --cluster "$c1_port" clusters --json
	[ "$status" -eq 0 ]
	slots=$output
	# pg_stat_activity's client backends, less the psql that asks
	used=$(pgt_sql c1 "select count(*) - 1 from pg_stat_activity where backend_type = 'client backend'")
	max=$(pgt_sql c1 "show max_connections")
	su=$(pgt_sql c1 "show superuser_reserved_connections")
	[ "$(jq -r .slots.used <<<"$slots")" = "$used" ]
	[ "$(jq -r .slots.max <<<"$slots")" = "$max" ]
	[ "$(jq -r .slots.superuser_reserved <<<"$slots")" = "$su" ]
	[ "$(jq -r .slots.free <<<"$slots")" = "$((max - su - used))" ]
	run --separate-stderr "$PGEVICT" --cluster "$c1_port" clusters
	[ "$status" -eq 0 ]
	[ "$(awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "SLOTS") c = i } NR == 2 { print $c }' <<<"$output")" = "$used/$max" ]
	run --separate-stderr "$PGEVICT" --cluster "$c1_port" ls --no-sql
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "cluster $c1_name (port $c1_port): slots $used/$max used, $((max - su - used)) free for ordinary roles ($su kept for superusers)" ]
}

@test "a client stalled in authentication with a title-like user name is reported with its real port" {
	"$PGT_HELPERS/pgstall" 127.0.0.1 "$c1_port" 'x 1.2.3.4(5) idle' stalldb "$c1_dir/run/stall" \
		</dev/null >/dev/null 2>&1 3>&- &
	spid=$!
	pgt_track c1 "$spid"
	for _ in $(seq 50); do [ -s "$c1_dir/run/stall" ] && break; sleep 0.1; done
	read -r port <"$c1_dir/run/stall"
	ls_json --cluster "$c1_port" --no-sql
	line=$(printf '%s\n' "$output" | jq -c --argjson p "$port" 'select(.client_port == $p)')
	[ -n "$line" ]
	[ "$(jq -r .client_addr <<<"$line")" = 127.0.0.1 ]
	[ "$(jq -r .state <<<"$line")" = starting ]
	[ "$(jq -r .backend_type <<<"$line")" = "client backend" ]
	# the title's fake "1.2.3.4(5)" never becomes an address or a port
	refute jq -e 'select(.client_port == 5 or .client_addr == "1.2.3.4")' <<<"$output"
	kill "$spid"
}

@test "names with terminal escapes are escaped in the table and exact in JSON" {
	pgt_sql c1 "create role \"evil$(printf '\033')[2Jx\" login" >/dev/null
	pgt_hold c1 "host=127.0.0.1 user='evil$(printf '\033')[2Jx' dbname=postgres" 1 idle "$c1_dir/run/evil"
	run "$PGEVICT" --cluster "$c1_port" ls
	[ "$status" -eq 0 ]
	refute grep -q "$(printf '\033')" <<<"$output"
	[[ "$output" == *'evil\x1b[2Jx'* ]]
	ls_json --cluster "$c1_port" --no-sql
	read -r pid _ <"$c1_dir/run/evil"
	[ "$(jfield "$pid" user)" = "evil$(printf '\033')[2Jx" ]
	pgt_release "$PGT_HOLD_PID"
}

@test "tree shows each postmaster with its children and their types" {
	run "$PGEVICT" tree
	[ "$status" -eq 0 ]
	pm1=$(head -n 1 "$c1_data/postmaster.pid")
	pm2=$(head -n 1 "$c2_data/postmaster.pid")
	[[ "$output" == *"$pm1 postmaster $c1_name (port $c1_port"* ]]
	[[ "$output" == *"$pm2 postmaster $c2_name (port $c2_port"* ]]
	[[ "$output" == *"checkpointer"* ]]
	read -r pid port <"$c1_dir/run/v6"
	[[ "$output" == *"$pid client backend u2@postgres [::1]:$port idle in transaction"* ]]
}

@test "JSON lines carry every field of the contract; unknown values are null" {
	ls_json --cluster "$c1_port" --all
	for f in pid ppid cluster port backend_type user database client_addr client_port state backend_start proc_state socket_inode tcp_state source; do
		[ "$(printf '%s\n' "$output" | jq -r "has(\"$f\")" | sort -u)" = true ]
	done
	line=$(printf '%s\n' "$output" | jq -c 'select(.backend_type == "checkpointer")')
	[ "$(jq -r .client_addr <<<"$line")" = null ]
	[ "$(jq -r .user <<<"$line")" = null ]
	[[ "$(jq -r .backend_start <<<"$line")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]]
}
