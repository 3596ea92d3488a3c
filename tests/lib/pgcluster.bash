# SPDX-License-Identifier: MIT
# tests/lib/pgcluster.bash -- throwaway PostgreSQL clusters for tests, demo
# and bench.
#
# Owns: making a cluster (initdb/pg_ctl as the postgres OS user, a free port,
# a temporary directory, cluster_name set, listening on 127.0.0.1 and ::1,
# its Unix socket inside the temporary directory), opening client sessions,
# and removing everything it made (clusters in namespaces of their own
# too, with their namespaces, veths and decoy directories).  It never
# touches a cluster it did not create: every pg_ctl call names the data
# directory this file made, a namespaced postmaster is stopped by its host
# pid, and every process it ends is one it started, by pid.
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
#
# Containers (no runtime: unshare, ip netns, nsenter): pgt_container_create
# VAR netpidmnt|net|user starts a cluster in namespaces of its own;
# pgt_in_ctr, pgt_ctr_net, pgt_ctr_psql, pgt_ctr_sql run commands inside;
# pgt_ctr_hold and pgt_ctr_watch open sessions from inside.  See below.

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
		# no socket of any state has it: a client's ephemeral port on
		# 127.0.0.1 would keep the server from listening there
		if ! ss -Htan "( sport = :$p )" | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	pgt_die "no free port"
}

pgt_as_postgres() { runuser -u postgres -- "$@"; }

# pgt_cluster_create VAR [SETTING=VALUE ...]: initdb and start a cluster.
# Sets ${VAR}_dir ${VAR}_data ${VAR}_sock ${VAR}_port ${VAR}_log ${VAR}_name.
# With PGT_NETNS=NS the postmaster starts inside that named network
# namespace by `ip netns exec` (which also gives it a mount namespace of
# its own); with PGT_NETNS_ONLY=1 too, by nsenter, in the network
# namespace alone.
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
	if [ -n "${PGT_NETNS:-}" ] && [ -n "${PGT_NETNS_ONLY:-}" ]; then
		# the network namespace alone (ip netns exec adds a mount namespace)
		in_ns=(nsenter "--net=/run/netns/$PGT_NETNS" --)
	elif [ -n "${PGT_NETNS:-}" ]; then
		in_ns=(ip netns exec "$PGT_NETNS")
	fi
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
# first (pgconns -e).  With PGT_CLIENT_NETNS_PID=PID the helper runs in
# the network namespace of process PID (nsenter -n; pgt_ctr_hold).  Sets
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
	local -a extra=() in_ns=()
	[ -z "${PGT_HOLD_SQL:-}" ] || extra=(-e "$PGT_HOLD_SQL")
	[ -z "${PGT_CLIENT_NETNS_PID:-}" ] || in_ns=(nsenter -t "$PGT_CLIENT_NETNS_PID" -n --)
	# No inherited descriptors: a held client must not keep a test
	# runner's pipe open.
	"${in_ns[@]}" "${as[@]}" "$PGT_HELPERS/pgconns" -n "$n" -m "$mode" "${extra[@]}" -o "$out" \
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
# given (or, with PGT_CLIENT_NETNS_PID=PID, that process's: pgt_ctr_watch).
# Waits until it is up; sets PGT_WATCH_PID.  OUT gets "backend_pid
# client_port"; OUT.err, when the connection is lost, what the client saw.
pgt_watch() {
	local var=$1 conninfo=$2 mode=$3 out=$4 ns=${5:-} port="${1}_port" dir="${1}_dir" pid i
	local -a in_ns=()
	[ -z "$ns" ] || in_ns=(ip netns exec "$ns")
	[ -z "${PGT_CLIENT_NETNS_PID:-}" ] || in_ns=(nsenter -t "$PGT_CLIENT_NETNS_PID" -n --)
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

# ---------------------------------------------------------------------
# Containers without a container runtime: clusters in namespaces of
# their own, made with unshare, ip netns and nsenter.
#
# pgt_container_create VAR KIND [SETTING=VALUE ...]: initdb (on the host,
# as the postgres OS user, in a /tmp/pgevict-test.* directory) and start a
# cluster of KIND:
#
#   netpidmnt  its own network, pid and mount namespaces (unshare --net
#              --pid --fork --mount --mount-proc).  The postmaster is pid 1
#              of its pid namespace (the namespace's init execs postgres
#              through setpriv), so postmaster.pid line 1 says 1.  Inside,
#              a tmpfs covers /srv/pgevict-ctr-TAG (the "container root"),
#              the real data directory is bind-mounted at
#              /srv/pgevict-ctr-TAG/data (the container path) and the Unix
#              socket is in /srv/pgevict-ctr-TAG/sock, a directory that
#              exists only inside.  On the host the same container path
#              holds a DECOY data directory (pg_hba.conf, postgresql.conf,
#              PG_VERSION; same owner and modes as the real ones): a tool
#              that reads or writes the container path on the host hits
#              the decoy.  Listens on 127.0.0.1 and ::1 inside only.
#   user       the same, in a user namespace of its own too, mapped like
#              rootless Podman: inner 0..65535 = host 200000..265535.  The
#              server runs as the inner postgres uid (the host's number:
#              /etc/passwd is shared, there is no chroot), which is
#              200000+uid on the host; the data directory (and the decoy)
#              belong to that host uid, mode 0700.  util-linux 2.38's
#              unshare --map-users needs newuidmap (the uidmap package),
#              so the maps are written here instead: a first process,
#              host uid 200000, unshares the user namespace and waits
#              until root wrote /proc/PID/uid_map and gid_map, then execs
#              unshare for the other namespaces as the namespace's root
#              (an exec before the maps exist would drop its capabilities).
#   net        its own network namespace only (a named one, entered with
#              nsenter --net so the mount namespace stays the host's),
#              joined to the host by a veth pair: host end 10.202.X.1/24
#              and fd00:202:0:X::1/64, namespace end .2 and ::2 (X picked
#              so that no address or route of the host is in 10.202.X.0/24;
#              IPv6 without DAD).  Listens on 127.0.0.1 (first, so that
#              postmaster.pid names it), .2, ::1 and ::2 inside, with
#              pg_hba trust for every address; pg_ctl as for a host
#              cluster.
#
# With PGT_CTR_ETC=1 (netpidmnt, user), pg_hba.conf lives in a config
# directory of its own like Debian's /etc/postgresql/VER/main: hba_file =
# /srv/pgevict-ctr-TAG/etc/main/pg_hba.conf inside (${VAR}_etc), bind-
# mounted from ${VAR}_hostetc, with a decoy at the same path on the host.
# The container's root owns etc/ (host uid 200000 for user), the cluster
# owner main/ and the file.
#
# Sets ${VAR}_kind, ${VAR}_pid (the postmaster's host pid), ${VAR}_nspid
# (its pid inside: 1, or the host pid for net), ${VAR}_port,
# ${VAR}_data (the container path of the data directory), ${VAR}_hostdata
# (where its files are on the host), ${VAR}_sock (the container path of
# the socket directory), ${VAR}_log, ${VAR}_dir, ${VAR}_name (cluster_name),
# ${VAR}_uid ${VAR}_gid (the owner's host ids); for netpidmnt and user
# ${VAR}_root (/srv/pgevict-ctr-TAG) and ${VAR}_decoy (the decoy data
# directory, at the container path on the host); for net ${VAR}_netns,
# ${VAR}_hif (the host's veth end), ${VAR}_addr ${VAR}_addr6 (the
# namespace end) and ${VAR}_haddr ${VAR}_haddr6 (the host end).
#
# Never call pg_ctl on a netpidmnt or user cluster from the host: it
# would signal the pid in postmaster.pid, 1, which on the host is init.
# pgt_cleanup stops them by their host pid (SIGINT: fast shutdown).

PGT_CTRS=()          # "host_pid start_time unshare_pid" of namespaced postmasters
PGT_CTR_ROOTS=()     # /srv/pgevict-ctr-* directories (decoys) made here
PGT_VETHS=()         # host ends of veth pairs made here

PGT_CTR_UIDBASE=200000

# pgt_start_time PID: field 22 of /proc/PID/stat (empty when gone).
pgt_start_time() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	set -- $s
	echo "${20}"
}

pgt_container_create() {
	local var=$1 kind=$2; shift 2
	case "$kind" in
	netpidmnt|user) _pgt_ctr_ns "$var" "$kind" "$@" ;;
	net) _pgt_ctr_net "$var" "$@" ;;
	*) pgt_die "pgt_container_create: unknown kind '$kind' (netpidmnt, net, user)" ;;
	esac
}

# pgt_ctr_can KIND: 0 when this host can make a cluster of KIND, else 1
# with the reason on stdout (for bats' skip).
pgt_ctr_can() {
	local d
	case "$1" in
	user)
		[ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)" -gt 0 ] ||
			{ echo "user namespaces are disabled (user.max_user_namespaces = 0)"; return 1; }
		unshare --help 2>/dev/null | grep -q -- '--mount-proc' ||
			{ echo "unshare has no --mount-proc"; return 1; }
		# an unprivileged uid may make one (what the harness does)
		d=$(setpriv --reuid="$PGT_CTR_UIDBASE" --regid="$PGT_CTR_UIDBASE" --clear-groups \
			unshare --user --map-root-user true 2>&1) ||
			{ echo "cannot make a user namespace as uid $PGT_CTR_UIDBASE: $d"; return 1; }
		;;
	netpidmnt)
		d=$(unshare --net --pid --fork --mount --mount-proc true 2>&1) ||
			{ echo "cannot make network, pid and mount namespaces: $d"; return 1; }
		;;
	net)
		command -v ip >/dev/null || { echo "no ip (iproute2)"; return 1; }
		;;
	esac
	return 0
}

_pgt_ctr_ns() {
	local var=$1 kind=$2; shift 2
	local bin dir port name tag root uid gid huid hgid kv i upid hpid etc=${PGT_CTR_ETC:-}
	bin=$(pgt_bindir) || return 1
	uid=$(id -u postgres) && gid=$(id -g postgres) || return 1
	huid=$uid hgid=$gid
	if [ "$kind" = user ]; then
		huid=$((PGT_CTR_UIDBASE + uid)) hgid=$((PGT_CTR_UIDBASE + gid))
	fi
	dir=$(mktemp -d /tmp/pgevict-test.XXXXXX) || return 1
	PGT_DIRS+=("$dir")
	chmod 755 "$dir"
	mkdir -p "$dir/run"
	chmod 1777 "$dir/run"
	tag=${dir##*.}
	root=/srv/pgevict-ctr-$tag
	mkdir -m 755 "$root" || return 1
	PGT_CTR_ROOTS+=("$root")
	port=$(pgt_free_port) || return 1
	name="pgevict_${var}_$port"
	# initdb as the host's postgres in a directory it owns, then hand the
	# result to the container's owner
	mkdir "$dir/init"
	chown postgres:postgres "$dir/init"
	pgt_as_postgres "$bin/initdb" -D "$dir/init/data" -U postgres --auth-local=peer \
		--auth-host=trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; pgt_die "initdb failed"; return 1; }
	mv "$dir/init/data" "$dir/data"
	rmdir "$dir/init"
	{
		echo "port = $port"
		echo "listen_addresses = '${PGT_LISTEN:-127.0.0.1,::1}'"
		echo "unix_socket_directories = '$root/sock'"
		echo "cluster_name = '$name'"
		echo "fsync = off"
		echo "synchronous_commit = off"
		echo "full_page_writes = off"
		echo "shared_buffers = 16MB"
		echo "max_connections = 50"
		echo "logging_collector = off"
		echo "log_line_prefix = '%m [%p] '"
		[ -z "$etc" ] || echo "hba_file = '$root/etc/main/pg_hba.conf'"
		for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
	} >>"$dir/data/postgresql.conf"
	if [ -n "$etc" ]; then
		mkdir -p "$dir/etc/main"
		mv "$dir/data/pg_hba.conf" "$dir/etc/main/pg_hba.conf"
		chown "$((huid - uid)):$((hgid - gid))" "$dir/etc"
		chmod 755 "$dir/etc" "$dir/etc/main"
		chown -R "$huid:$hgid" "$dir/etc/main"
	fi
	chown -R "$huid:$hgid" "$dir/data"
	chmod 700 "$dir/data"
	# the decoy, at the container path on the host
	mkdir -m 700 "$root/data"
	printf '# DECOY %s: pgevict must never read or write this file\nlocal all all reject\n' "$root/data/pg_hba.conf" >"$root/data/pg_hba.conf"
	printf '# DECOY\nport = 1\n' >"$root/data/postgresql.conf"
	cp "$dir/data/PG_VERSION" "$root/data/PG_VERSION"
	chmod 600 "$root/data"/*
	chown -R "$huid:$hgid" "$root/data"
	if [ -n "$etc" ]; then
		mkdir -p -m 755 "$root/etc/main"
		printf '# DECOY %s: pgevict must never read or write this file\nlocal all all reject\n' "$root/etc/main/pg_hba.conf" >"$root/etc/main/pg_hba.conf"
		chmod 640 "$root/etc/main/pg_hba.conf"
		chown "$((huid - uid)):$((hgid - gid))" "$root/etc"
		chown -R "$huid:$hgid" "$root/etc/main"
	fi
	# what runs inside, as the namespaces' root: cover the container
	# root with a tmpfs (hiding the decoy), mount the real directories at
	# the container paths, bring loopback up, become postgres as pid 1
	cat >"$dir/ctr-init.sh" <<-EOF
	set -e
	mount -t tmpfs -o mode=755 pgevict-ctr '$root'
	mkdir '$root/data' '$root/sock'
	mount --bind '$dir/data' '$root/data'
	chown $uid:$gid '$root/sock'
	chmod 755 '$root/sock'
	if [ -n '$etc' ]; then mkdir '$root/etc'; mount --bind '$dir/etc' '$root/etc'; fi
	ip link set lo up
	exec setpriv --reuid=$uid --regid=$gid --init-groups \\
		env -i PATH=/usr/bin:/bin LANG=C.UTF-8 '$bin/postgres' -D '$root/data'
	EOF
	chmod 644 "$dir/ctr-init.sh"
	if [ "$kind" = user ]; then
		setpriv --reuid="$PGT_CTR_UIDBASE" --regid="$PGT_CTR_UIDBASE" --clear-groups \
			unshare --user -- sh -c 'until read -r _ </proc/self/uid_map; do sleep 0.02; done
				exec unshare --net --pid --fork --mount --mount-proc --propagation private sh "$1"' \
			sh "$dir/ctr-init.sh" </dev/null >"$dir/server.log" 2>&1 3>&- 4>&- &
		upid=$!
		for i in $(seq 1 250); do
			[ "$(readlink "/proc/$upid/ns/user")" != "$(readlink /proc/self/ns/user)" ] && break
			sleep 0.02
		done
		echo "0 $PGT_CTR_UIDBASE 65536" >"/proc/$upid/uid_map" &&
			echo "0 $PGT_CTR_UIDBASE 65536" >"/proc/$upid/gid_map" ||
			{ kill -TERM "$upid" 2>/dev/null; wait "$upid" 2>/dev/null; pgt_die "cannot write the uid/gid maps of $upid"; return 1; }
	else
		unshare --net --pid --fork --mount --mount-proc --propagation private \
			sh "$dir/ctr-init.sh" </dev/null >"$dir/server.log" 2>&1 3>&- 4>&- &
		upid=$!
	fi
	# ready: postmaster.pid says pid 1 and "ready"; the postmaster is the
	# unshare process's child (the one after the first exec for user)
	for i in $(seq 1 600); do
		if [ -f "$dir/data/postmaster.pid" ] && [ "$(sed -n 1p "$dir/data/postmaster.pid")" = 1 ] &&
			sed -n 8p "$dir/data/postmaster.pid" | grep -q ready; then
			break
		fi
		kill -0 "$upid" 2>/dev/null || { cat "$dir/server.log" >&2; pgt_die "the container of $var did not start"; return 1; }
		sleep 0.1
	done
	hpid=$(cat "/proc/$upid/task/$upid/children" 2>/dev/null)
	hpid=${hpid%% *}
	[ -n "$hpid" ] && grep -q "^NSpid:[[:space:]]*$hpid[[:space:]]*1$" "/proc/$hpid/status" ||
		{ cat "$dir/server.log" >&2; pgt_die "no postmaster as pid 1 in the container of $var"; return 1; }
	PGT_CTRS+=("$hpid $(pgt_start_time "$hpid") $upid")
	echo "$hpid $(pgt_start_time "$hpid") $upid" >>"$dir/run/ctr"
	printf -v "${var}_kind" '%s' "$kind"
	printf -v "${var}_pid" '%s' "$hpid"
	printf -v "${var}_nspid" '%s' 1
	printf -v "${var}_dir" '%s' "$dir"
	printf -v "${var}_root" '%s' "$root"
	printf -v "${var}_data" '%s' "$root/data"
	printf -v "${var}_hostdata" '%s' "$dir/data"
	printf -v "${var}_decoy" '%s' "$root/data"
	printf -v "${var}_sock" '%s' "$root/sock"
	printf -v "${var}_port" '%s' "$port"
	printf -v "${var}_log" '%s' "$dir/server.log"
	printf -v "${var}_name" '%s' "$name"
	printf -v "${var}_uid" '%s' "$huid"
	printf -v "${var}_gid" '%s' "$hgid"
	if [ -n "$etc" ]; then
		printf -v "${var}_etc" '%s' "$root/etc/main"
		printf -v "${var}_hostetc" '%s' "$dir/etc/main"
	fi
}

_pgt_ctr_net() {
	local var=$1; shift
	local tag x ns hif nif i
	tag="$$$RANDOM"
	tag=${tag: -7}
	for i in $(seq 1 50); do
		x=$((1 + RANDOM % 254))
		# no route inside 10.202.X.0/24 nor one (but the default) around it
		if [ -z "$(ip -4 route show table all root "10.202.$x.0/24" 2>/dev/null)" ] &&
			[ -z "$(ip -4 route show table all match "10.202.$x.0/24" 2>/dev/null | grep -v '^default\|^broadcast\|^local')" ] &&
			[ -z "$(ip -o addr show | grep " 10\.202\.$x\.")" ]; then
			break
		fi
		x=
	done
	[ -n "$x" ] || { pgt_die "no free 10.202.X.0/24"; return 1; }
	ns="pgev-ctr-$tag"
	hif="pgh$tag"
	nif="pgn$tag"
	ip netns add "$ns" || return 1
	PGT_NS+=("$ns")
	ip link add "$hif" type veth peer name "$nif" netns "$ns" || return 1
	PGT_VETHS+=("$hif")
	ip addr add "10.202.$x.1/24" dev "$hif" &&
		ip addr add "fd00:202:0:$x::1/64" dev "$hif" nodad &&
		ip -n "$ns" addr add "10.202.$x.2/24" dev "$nif" &&
		ip -n "$ns" addr add "fd00:202:0:$x::2/64" dev "$nif" nodad &&
		ip -n "$ns" link set lo up && ip link set "$hif" up && ip -n "$ns" link set "$nif" up || return 1
	# 127.0.0.1 first: postmaster.pid line 6 then names an address that
	# on the host is the host's own loopback
	PGT_NETNS=$ns PGT_NETNS_ONLY=1 PGT_LISTEN="127.0.0.1,10.202.$x.2,::1,fd00:202:0:$x::2" \
		pgt_cluster_create "$var" "$@" || return 1
	local data="${var}_data" hpid
	hpid=$(head -n 1 "${!data}/postmaster.pid")
	printf -v "${var}_kind" '%s' net
	printf -v "${var}_pid" '%s' "$hpid"
	printf -v "${var}_nspid" '%s' "$hpid"
	printf -v "${var}_hostdata" '%s' "${!data}"
	printf -v "${var}_uid" '%s' "$(id -u postgres)"
	printf -v "${var}_gid" '%s' "$(id -g postgres)"
	printf -v "${var}_netns" '%s' "$ns"
	printf -v "${var}_hif" '%s' "$hif"
	printf -v "${var}_addr" '%s' "10.202.$x.2"
	printf -v "${var}_addr6" '%s' "fd00:202:0:$x::2"
	printf -v "${var}_haddr" '%s' "10.202.$x.1"
	printf -v "${var}_haddr6" '%s' "fd00:202:0:$x::1"
}

# pgt_in_ctr VAR CMD...: CMD inside the namespaces of container VAR
# (nsenter on the postmaster's host pid: -n for net; -n -m -p for
# netpidmnt; -U -n -m -p for user, where CMD runs as the container's root,
# host uid 200000), working directory /.
pgt_in_ctr() {
	local pid="${1}_pid" kind="${1}_kind"; shift
	local -a ns=(-n)
	case "${!kind}" in
	netpidmnt) ns=(-n -m -p) ;;
	user) ns=(-U -n -m -p) ;;
	esac
	nsenter -t "${!pid}" "${ns[@]}" --wd=/ -- "$@"
}

# pgt_ctr_net VAR CMD...: CMD in the network namespace of container VAR
# only, as the caller (host root): a client that connects over TCP inside.
pgt_ctr_net() {
	local pid="${1}_pid"; shift
	nsenter -t "${!pid}" -n -- "$@"
}

# pgt_ctr_as_postgres VAR CMD...: CMD as the container's postgres inside
# it (for user, the inner postgres uid: 200000+uid on the host), with a
# clean environment.
pgt_ctr_as_postgres() {
	local v=$1; shift
	pgt_in_ctr "$v" setpriv --reuid=postgres --regid=postgres --init-groups \
		env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"
}

# pgt_ctr_psql VAR [psql args]: psql as postgres inside the container,
# over its Unix socket (peer authentication).
pgt_ctr_psql() {
	local sock="${1}_sock" port="${1}_port" v=$1; shift
	pgt_ctr_as_postgres "$v" "$(pgt_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "${!sock}" \
		-p "${!port}" -U postgres -d postgres "$@"
}

# pgt_ctr_sql VAR SQL: one query inside the container, unaligned, tuples only.
pgt_ctr_sql() { local v=$1; shift; pgt_ctr_psql "$v" -At -c "$*"; }

# pgt_ctr_hold VAR CONNINFO N [MODE] [OUTFILE]: pgt_hold with the pgconns
# helper in the container's network namespace (host=127.0.0.1 reaches the
# cluster over TCP inside).  OUTFILE's backend pids are those PostgreSQL
# reports (pg_backend_pid(): pids inside the container's pid namespace).
pgt_ctr_hold() {
	local pid="${1}_pid"
	PGT_CLIENT_NETNS_PID=${!pid} pgt_hold "$@"
}

# pgt_ctr_watch VAR CONNINFO MODE OUT: pgt_watch from inside the
# container's network namespace.
pgt_ctr_watch() {
	local pid="${1}_pid"
	PGT_CLIENT_NETNS_PID=${!pid} pgt_watch "$1" "$2" "$3" "$4"
}

# pgt_host_pid VAR NSPID: the host pid of the process that is NSPID in
# container VAR's pid namespace (a child of its postmaster), or nothing.
pgt_host_pid() {
	local pmpid="${1}_pid" c
	for c in $(cat "/proc/${!pmpid}/task/${!pmpid}/children" 2>/dev/null); do
		if [ "$(awk '/^NSpid:/ { print $NF }' "/proc/$c/status" 2>/dev/null)" = "$2" ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# _pgt_ctr_stop: fast shutdown of the namespaced postmasters started here,
# by host pid while the start time still says it is the same process
# (SIGINT; after 30 s SIGQUIT, an immediate shutdown; never a signal to a
# backend), then their unshare parents are reaped.
_pgt_ctr_stop() {
	local e p start upid i
	for e in "${PGT_CTRS[@]}"; do
		read -r p start upid <<<"$e"
		[ "$(pgt_start_time "$p")" = "$start" ] && kill -INT "$p" 2>/dev/null
	done
	for e in "${PGT_CTRS[@]}"; do
		read -r p start upid <<<"$e"
		for i in $(seq 1 300); do
			[ "$(pgt_start_time "$p")" = "$start" ] || break
			[ "$i" -ne 300 ] || kill -QUIT "$p" 2>/dev/null
			sleep 0.1
		done
		for i in $(seq 1 100); do
			[ "$(pgt_start_time "$p")" = "$start" ] || break
			sleep 0.1
		done
		wait "$upid" 2>/dev/null || true
	done
	PGT_CTRS=()
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
	_pgt_ctr_stop
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
	for d in "${PGT_VETHS[@]}"; do
		if ip link show "$d" >/dev/null 2>&1; then ip link del "$d" 2>/dev/null || true; fi
	done
	PGT_VETHS=()
	for d in "${PGT_CTR_ROOTS[@]}"; do
		case "$d" in /srv/pgevict-ctr-*) rm -rf "$d" ;; esac
	done
	PGT_CTR_ROOTS=()
	for d in "${PGT_DIRS[@]}"; do
		case "$d" in /tmp/pgevict-test.*) rm -rf "$d" ;; esac
	done
	PGT_DIRS=()
}

PGT_HELPERS=${PGT_HELPERS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/tests}
