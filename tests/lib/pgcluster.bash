# tests/lib/pgcluster.bash -- throwaway PostgreSQL clusters for tests, demo
# and bench.
#
# Owns: making a cluster (initdb/pg_ctl as the postgres OS user, a free port,
# a temporary directory, cluster_name set, listening on 127.0.0.1 and ::1,
# its Unix socket inside the temporary directory), opening client sessions,
# and removing everything it made.  It never touches a cluster it did not
# create: every pg_ctl call names the data directory this file made, and
# every process it ends is one it started, by pid.
#
# Usage (bash):
#   source tests/lib/pgcluster.bash
#   pgt_cluster_create c1 [NAME=VALUE ...]   # postgresql.conf settings
#   echo "$c1_port $c1_data $c1_sock"
#   pgt_psql c1 -c 'select 1'
#   pgt_hold c1 "host=127.0.0.1 user=u1" 3    # 3 idle sessions, see below
#   pgt_cleanup                               # also runs from the EXIT trap
#
# Network namespaces (rst tests and bench): pgt_netns_pair VAR makes a
# server and a client namespace joined by a veth pair; with PGT_NETNS=NS
# (and PGT_LISTEN=ADDRS) pgt_cluster_create starts the cluster inside NS;
# pgt_watch opens one watched session, optionally from a namespace.

PGT_DIRS=()          # temporary directories made here
PGT_DATADIRS=()      # data directories of clusters started here
PGT_PIDS=()          # client processes started here
PGT_NS=()            # network namespaces made here

pgt_die() { echo "pgcluster: $*" >&2; return 1; }

pgt_bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] || { pgt_die "no PostgreSQL server installed (apt-get install postgresql)"; return 1; }
	echo "$d"
}

# pgt_free_port: a TCP port nobody listens on, v4 or v6.
pgt_free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		if ! ss -Htanl "( sport = :$p )" | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	pgt_die "no free port"
}

pgt_as_postgres() { runuser -u postgres -- "$@"; }

# pgt_cluster_create VAR [SETTING=VALUE ...]: initdb and start a cluster.
# Sets ${VAR}_dir ${VAR}_data ${VAR}_sock ${VAR}_port ${VAR}_log ${VAR}_name.
pgt_cluster_create() {
	local var=$1; shift
	local bin dir port name
	bin=$(pgt_bindir) || return 1
	dir=$(mktemp -d /tmp/pgevict-test.XXXXXX) || return 1
	PGT_DIRS+=("$dir")
	chmod 755 "$dir"
	mkdir -p "$dir/sock" "$dir/run"
	chown postgres:postgres "$dir" "$dir/sock"
	chmod 1777 "$dir/run"
	port=$(pgt_free_port) || return 1
	name="pgevict_${var}_$port"
	pgt_as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth-local=peer \
		--auth-host=trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; pgt_die "initdb failed"; return 1; }
	{
		echo "port = $port"
		echo "listen_addresses = '${PGT_LISTEN:-127.0.0.1,::1}'"
		echo "unix_socket_directories = '$dir/sock'"
		echo "cluster_name = '$name'"
		echo "fsync = off"
		echo "synchronous_commit = off"
		echo "full_page_writes = off"
		echo "shared_buffers = 16MB"
		echo "max_connections = 50"
		echo "logging_collector = off"
		echo "log_line_prefix = '%m [%p] '"
		local kv
		for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
	} >>"$dir/data/postgresql.conf"
	if [ -n "${PGT_NETNS:-}" ]; then
		# the postmaster's TCP side lives in that namespace
		echo "host all all 0.0.0.0/0 trust" >>"$dir/data/pg_hba.conf"
		echo "host all all ::/0 trust" >>"$dir/data/pg_hba.conf"
	fi
	PGT_DATADIRS+=("$dir/data")
	local -a in_ns=()
	[ -z "${PGT_NETNS:-}" ] || in_ns=(ip netns exec "$PGT_NETNS")
	"${in_ns[@]}" runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >"$dir/pg_ctl.log" 2>&1 ||
		{ cat "$dir/pg_ctl.log" "$dir/server.log" >&2; pgt_die "pg_ctl start failed"; return 1; }
	printf -v "${var}_dir" '%s' "$dir"
	printf -v "${var}_data" '%s' "$dir/data"
	printf -v "${var}_sock" '%s' "$dir/sock"
	printf -v "${var}_port" '%s' "$port"
	printf -v "${var}_log" '%s' "$dir/server.log"
	printf -v "${var}_name" '%s' "$name"
}

# pgt_postmaster_pid VAR: first line of the cluster's postmaster.pid.
pgt_postmaster_pid() {
	local data="${1}_data"
	head -n 1 "${!data}/postmaster.pid"
}

# pgt_psql VAR [psql args]: psql as the postgres OS user over the Unix socket.
pgt_psql() {
	local sock="${1}_sock" port="${1}_port"; shift
	pgt_as_postgres "$(pgt_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "${!sock}" \
		-p "${!port}" -U postgres -d postgres "$@"
}

# pgt_sql VAR SQL: one query, unaligned, tuples only.
pgt_sql() { local v=$1; shift; pgt_psql "$v" -At -c "$*"; }

# pgt_hold VAR CONNINFO N [MODE] [OUTFILE]: open N sessions with the
# pgconns helper and keep them until pgt_cleanup (or pgt_release).  MODE is
# idle, active (a long pg_sleep) or xact (idle in transaction).  With
# PGT_OSUSER set the helper runs as that OS user (peer authentication over
# the Unix socket).  PGT_HOLD_SQL, when set, runs once on each session
# first (pgconns -e).  Sets
# PGT_HOLD_PID to the helper's pid (call it directly, not in $(...): the
# helper would hold the substitution open); OUTFILE gets one
# "backend_pid client_port" line a session.
pgt_hold() {
	local var=$1 conninfo=$2 n=$3 mode=${4:-idle} out=${5:-}
	local port="${var}_port" dir="${var}_dir" pid
	local -a as=()
	[ -n "$out" ] || out=$(mktemp "${!dir}/run/hold.XXXXXX")
	rm -f "$out" "$out.ready"
	if [ -n "${PGT_OSUSER:-}" ]; then
		as=(setpriv --reuid="$PGT_OSUSER" --regid="$(id -g "$PGT_OSUSER")" --init-groups)
		touch "$out"
		chown "$PGT_OSUSER" "$out"
	fi
	local -a extra=()
	[ -z "${PGT_HOLD_SQL:-}" ] || extra=(-e "$PGT_HOLD_SQL")
	# No inherited descriptors: a held client must not keep a test
	# runner's pipe open.
	"${as[@]}" "$PGT_HELPERS/pgconns" -n "$n" -m "$mode" "${extra[@]}" -o "$out" \
		"port=${!port} $conninfo" </dev/null >/dev/null 2>>"${!dir}/run/clients.log" 3>&- 4>&- &
	pid=$!
	pgt_track "$var" "$pid"
	# The helper writes its file once every session is up.
	local i
	for i in $(seq 1 600); do
		[ -s "$out.ready" ] && break
		kill -0 "$pid" 2>/dev/null || { pgt_die "pgconns exited early: $(tail -n 3 "${!dir}/run/clients.log")"; return 1; }
		sleep 0.1
	done
	[ -s "$out.ready" ] || { pgt_die "sessions did not come up"; return 1; }
	PGT_HOLD_PID=$pid
	PGT_HOLD_OUT=$out
}

# pgt_track VAR PID: remember a client process started for cluster VAR, in
# a file, so that pgt_cleanup ends it even when it was started in a
# subshell (a bats test) that cleanup cannot see.
pgt_track() {
	local dir="${1}_dir"
	PGT_PIDS+=("$2")
	echo "$2 $(cut -d' ' -f22 "/proc/$2/stat" 2>/dev/null)" >>"${!dir}/run/pids"
}

# pgt_release PID: end a client process started here (never a backend).
pgt_release() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# pgt_netns_pair VAR: two network namespaces made here, a server's and a
# client's, joined by a veth pair, with 10.201.0.1/24 and fd00:201::1/64
# on the server's end, .2 and ::2 on the client's (these addresses exist
# only inside the two namespaces; IPv6 without DAD, usable at once).
# Sets ${VAR}_sns ${VAR}_cns ${VAR}_sif ${VAR}_cif; pgt_cleanup removes
# them (deleting a namespace removes its veth end).
pgt_netns_pair() {
	local var=$1 tag sns cns sif cif
	tag="$$$RANDOM"
	tag=${tag: -8}
	sns="pgev-s-$tag"
	cns="pgev-c-$tag"
	sif="pes$tag"
	cif="pec$tag"
	ip netns add "$sns" || return 1
	PGT_NS+=("$sns")
	ip netns add "$cns" || return 1
	PGT_NS+=("$cns")
	ip link add "$sif" netns "$sns" type veth peer name "$cif" netns "$cns" || return 1
	ip -n "$sns" addr add 10.201.0.1/24 dev "$sif" &&
		ip -n "$sns" addr add fd00:201::1/64 dev "$sif" nodad &&
		ip -n "$cns" addr add 10.201.0.2/24 dev "$cif" &&
		ip -n "$cns" addr add fd00:201::2/64 dev "$cif" nodad &&
		ip -n "$sns" link set lo up && ip -n "$cns" link set lo up &&
		ip -n "$sns" link set "$sif" up && ip -n "$cns" link set "$cif" up || return 1
	printf -v "${var}_sns" '%s' "$sns"
	printf -v "${var}_cns" '%s' "$cns"
	printf -v "${var}_sif" '%s' "$sif"
	printf -v "${var}_cif" '%s' "$cif"
}

# pgt_watch VAR CONNINFO MODE OUT [NETNS]: one session of cluster VAR by
# the pgwatch helper (idle or stream), from network namespace NETNS when
# given.  Waits until it is up; sets PGT_WATCH_PID.  OUT gets
# "backend_pid client_port"; OUT.err, when the connection is lost, what
# the client saw.
pgt_watch() {
	local var=$1 conninfo=$2 mode=$3 out=$4 ns=${5:-} port="${1}_port" dir="${1}_dir" pid i
	local -a in_ns=()
	[ -z "$ns" ] || in_ns=(ip netns exec "$ns")
	rm -f "$out" "$out.ready" "$out.err"
	"${in_ns[@]}" "$PGT_HELPERS/pgwatch" -m "$mode" -o "$out" "port=${!port} $conninfo" \
		</dev/null >/dev/null 2>>"${!dir}/run/clients.log" 3>&- 4>&- &
	pid=$!
	pgt_track "$var" "$pid"
	for i in $(seq 1 300); do
		[ -s "$out.ready" ] && break
		kill -0 "$pid" 2>/dev/null || { pgt_die "pgwatch exited early: $(tail -n 3 "${!dir}/run/clients.log")"; return 1; }
		sleep 0.1
	done
	[ -s "$out.ready" ] || { pgt_die "pgwatch did not come up"; return 1; }
	PGT_WATCH_PID=$pid
}

pgt_cleanup() {
	local p d bin start
	# Clients started in subshells: by pid, only while the start time
	# still says it is the same process.
	for d in "${PGT_DIRS[@]}"; do
		[ -f "$d/run/pids" ] || continue
		while read -r p start; do
			[ "$(cut -d' ' -f22 "/proc/$p/stat" 2>/dev/null)" = "$start" ] || continue
			kill -TERM "$p" 2>/dev/null || true
		done <"$d/run/pids"
	done
	for p in "${PGT_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PGT_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	PGT_PIDS=()
	bin=$(pgt_bindir 2>/dev/null) || bin=
	for d in "${PGT_DATADIRS[@]}"; do
		[ -f "$d/postmaster.pid" ] || continue
		# A stopped backend (tests send SIGSTOP) would stall a fast shutdown.
		pgt_as_postgres "$bin/pg_ctl" -D "$d" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			pgt_as_postgres "$bin/pg_ctl" -D "$d" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	done
	PGT_DATADIRS=()
	for d in "${PGT_NS[@]}"; do
		ip netns del "$d" 2>/dev/null || true
	done
	PGT_NS=()
	for d in "${PGT_DIRS[@]}"; do
		case "$d" in /tmp/pgevict-test.*) rm -rf "$d" ;; esac
	done
	PGT_DIRS=()
}

PGT_HELPERS=${PGT_HELPERS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/tests}
