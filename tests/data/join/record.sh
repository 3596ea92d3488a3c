#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/data/join/record.sh PGEVICT PORT DIR -- record a snapshot of the
# running cluster on PORT into DIR, in the format of README.md, for
# tests/unit/test_join.c.  Run as root, on a cluster a test made, while its
# sessions are idle (nothing may start or end during the recording).
#
# The tables come from where discover() takes them, read with the usual
# tools: /proc (children, titles, socket fds), ss (the kernel's sock_diag
# dumps: TCP on the cluster's port, Unix), psql (pg_stat_activity).  The
# expected sessions are what PGEVICT (`ls --all --json`) says, so record
# with a build you trust: the snapshot then pins its answers.
set -euo pipefail

pgevict=$1 port=$2 dir=$3
mkdir -p "$dir"
T=$'\t'

pm=$("$pgevict" clusters --json --cluster "$port" | jq -r .pid)
name=$("$pgevict" clusters --json --cluster "$port" | jq -r '.cluster_name // "-"')
netns=$(stat -L -c %i "/proc/$pm/ns/net")
kids=$(ps -o pid= --ppid "$pm" | sort -n)

{
	echo "boot $(awk '/^btime/ {print $2}' /proc/stat)"
	echo "hz $(getconf CLK_TCK)"
} >"$dir/host"
{
	echo "# PID PORT NETNS OWN NAME"
	echo "$pm $port $netns - $name"
} >"$dir/clusters"

# The children: stat fields after the command name (which may hold
# blanks), the title as discovery cleans it (NULs to blanks, trailing cut).
inodes=()
{
	echo "# PID PPID NSPID START_TICKS STATE TITLE"
	for k in $kids; do
		read -r -a f <<<"$(sed 's/.*) //' "/proc/$k/stat")"
		title=$(tr '\0' ' ' <"/proc/$k/cmdline" | sed 's/ *$//')
		echo "$k ${f[1]} $k ${f[19]} ${f[0]} $title"
	done
} >"$dir/procs"
{
	echo "# PID FD:INODE..."
	for k in $kids; do
		line=
		for fd in $(ls "/proc/$k/fd" | sort -n); do
			l=$(readlink "/proc/$k/fd/$fd" || true)
			case $l in socket:\[*\]) i=${l#socket:[}; i=${i%]}; line+=" $fd:$i"; inodes+=("$i") ;; esac
		done
		[ -z "$line" ] || echo "$k$line"
	done
} >"$dir/fds"

# ss: "State Recv-Q Send-Q Local Peer ... ino:N"; addresses v6 in brackets.
held=" ${inodes[*]} "
{
	echo "# NETNS tcp4|tcp6 STATE INODE SRC SPORT DST DPORT; NETNS unix INODE PEER NAME"
	ss -tnHe "( sport = :$port )" | while read -r st _ _ loc peer rest; do
		[ "$st" = ESTAB ] || continue
		ino=$(grep -o 'ino:[0-9]*' <<<"$rest" | cut -d: -f2)
		fam=tcp4
		case $loc in \[*) fam=tcp6 ;; esac
		la=${loc%:*} lp=${loc##*:} pa=${peer%:*} pp=${peer##*:}
		la=${la#[} la=${la%]} pa=${pa#[} pa=${pa%]}
		echo "$netns $fam 1 $ino $la $lp $pa $pp"
	done
	echo "$netns unix-done"
	ss -xnH | while read -r _ _ _ _ lname lino _ pino; do
		case $held in *" $lino "*) ;; *) continue ;; esac
		[ "$lname" != "*" ] || lname=-
		echo "$netns unix $lino $pino $lname"
	done
} >"$dir/sockets"

{
	echo "# CLUSTER PID BACKEND_START_US USENAME DATNAME APPLICATION_NAME STATE BACKEND_TYPE CLIENT_ADDR CLIENT_PORT QUERY"
	runuser -u postgres -- psql -h "$("$pgevict" clusters --json --cluster "$port" | jq -r .socket_directory)" \
		-p "$port" -d postgres -AtX -F "$T" -P 'null=\N' -c \
		"select $pm, pid, (extract(epoch from backend_start) * 1000000)::bigint, usename, datname,
		        application_name, state, backend_type, host(client_addr), client_port,
		        regexp_replace(query, '[\t\n]', ' ', 'g')
		   from pg_stat_activity where pid <> pg_backend_pid() order by pid"
} >"$dir/activity"

{
	echo "# PID TRANSPORT CLIENT USER DATABASE BACKEND_TYPE STATE SOURCE"
	"$pgevict" ls --all --json --cluster "$port" | jq -r '[.pid, (.transport // "none"),
		(if .transport == "unix" then "[local]"
		 elif .client_addr == null then "-"
		 elif (.client_addr | contains(":")) then "[\(.client_addr)]:\(.client_port)"
		 else "\(.client_addr):\(.client_port)" end),
		(.user // "\\N"), (.database // "\\N"), (.backend_type // "\\N"), (.state // "\\N"),
		(if .source == "proc+sql" then "sql" else "proc" end)] | map(tostring) | join("\t")'
} >"$dir/expect"
