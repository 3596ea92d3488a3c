/* SPDX-License-Identifier: MIT */
/*
 * session.h -- the model: clusters and the processes under them (core).
 *
 * A cluster is one running postmaster.  A session is one child of a
 * postmaster, identified by (pid, start time), never by a bare pid.  These
 * structs are filled by discover.c from /proc, netlink and SQL; core code
 * (selectors, planners, output) only reads them.  Unknown values are NULL,
 * -1 or INT64_MIN as documented per field, never invented.
 */
#ifndef PGEVICT_SESSION_H
#define PGEVICT_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TIME_UNKNOWN INT64_MIN

struct pg_cluster {
	pid_t pid;                   /* the postmaster */
	unsigned long long start_ticks; /* /proc/PID/stat field 22 */
	char *data_dir;
	int port;                    /* -1 if unknown */
	char *socket_dir;            /* first unix_socket_directories entry */
	char *listen_addr;           /* first listen address */
	char *status;                /* postmaster.pid line 8 */
	char *version;               /* PG_VERSION, e.g. "15" */
	char *cluster_name;          /* NULL if none */
	char *hba_file;              /* best knowledge; see postmaster.c */
	char *hba_conflict;          /* without SQL: the places that name
	                                hba_file disagree (one line saying
	                                which); NULL when they agree or SQL
	                                gave it.  Lockdown refuses such a
	                                cluster unless --hba-file names it. */
	uid_t owner_uid;             /* owner of the data directory */
	gid_t owner_gid;
	char *owner_name;
	unsigned long netns;         /* inode of its network namespace */
	unsigned long pidns, mntns, userns; /* of its pid, mount and user
	                                namespaces (0: unknown) */
	unsigned ns_own;             /* NS_* bits: the namespaces it does not
	                                share with pgevict (0 on the host) */
	char *container;             /* "docker:0123456789ab", "lxc:NAME"
	                                (its cgroup says which runtime), NULL
	                                when none is recognised */
	char *container_id;          /* the runtime's full id or name, NULL */
	int container_runtime;       /* enum container_runtime (container.h) */
	char *net_error;             /* why its sockets could not be read
	                                (its network namespace could not be
	                                entered, say), one line; NULL */
	char *unverified;            /* NULL for a verified cluster; else why
	                                it is not one (one line).  Such a
	                                "cluster" is only ever listed (clusters
	                                --all): never acted on, read from
	                                beyond its postmaster.pid, connected
	                                to or written for. */
	int max_connections;         /* SQL's when it worked, else the command
	                                line's or configuration's; <= 0
	                                unknown */
	int su_reserved;             /* superuser_reserved_connections, the
	                                same way; -1 unknown */
	int reserved;                /* reserved_connections (PG16+; 0
	                                before), the same way; -1 unknown */
	bool sql_ok;                 /* SQL enrichment worked */
	char *sql_error;             /* why not, one line; NULL if not tried */
};

/* pg_cluster.ns_own bits. */
enum {
	NS_NET = 1 << 0,
	NS_PID = 1 << 1,
	NS_MNT = 1 << 2,
	NS_USER = 1 << 3,
};

/* "net+pid+mnt" for the bits of NS_OWN (order net, pid, mnt, user), ""
 * for none. */
const char *ns_own_label(unsigned ns_own, char *buf, size_t len);

enum transport { TRANSPORT_NONE = 0, TRANSPORT_TCP, TRANSPORT_UNIX };

/* Is a session's role a superuser?  Zero is unknown, so that a session
 * nobody asked about is never taken for an ordinary one. */
enum su { SU_UNKNOWN = 0, SU_NO, SU_YES };

struct session {
	pid_t pid;
	pid_t ns_pid;                /* the pid as its cluster sees it (its
	                                pid namespace: pg_stat_activity,
	                                pg_terminate_backend); = pid on the
	                                host */
	pid_t ppid;
	unsigned long long start_ticks; /* identity together with pid */
	int64_t start_us;            /* backend start, epoch microseconds */
	char proc_state;             /* R S D T Z ..., '?' if unknown */
	unsigned long long cpu_ticks; /* utime + stime and resident pages, */
	long long rss_pages;         /* from the stat read that gave
	                                start_ticks and proc_state */
	struct pg_cluster *cluster;  /* not owned */

	char *title;                 /* raw title, trailing NULs/blanks cut */
	const char *backend_type;    /* static; NULL if unknown */
	bool is_client;              /* client backend or walsender */
	char *user;
	char *database;
	char *activity;              /* from the title */
	const char *state;           /* static: idle, active, ...; NULL unknown */
	bool waiting;

	enum transport transport;
	unsigned long socket_inode;  /* 0 if none */
	int family;                  /* AF_INET, AF_INET6, AF_UNIX or 0 */
	char client_addr[INET6_ADDRSTRLEN]; /* "" if none */
	int client_port;             /* -1 if none */
	char local_addr[INET6_ADDRSTRLEN];
	int local_port;
	int tcp_state;               /* TCP_ESTABLISHED ..., -1 if none */
	uint32_t cookie[2];          /* sock_diag cookie, for SOCK_DESTROY */
	uint8_t local_raw[16];       /* addresses in network order, v4 in */
	uint8_t client_raw[16];      /* the first 4 bytes */

	bool from_sql;               /* merged with pg_stat_activity */
	unsigned char su;            /* enum su: pg_roles.rolsuper of its
	                                role when SQL told (or told before:
	                                the agent remembers) */
	char *application_name;
	char *sql_state;             /* pg_stat_activity.state as given */
	int64_t state_change_us;     /* TIME_UNKNOWN if not known */
	int64_t xact_start_us;
	int64_t query_start_us;
	char *query;
};

struct session_list {
	struct session *v;
	size_t n, cap;
};

struct cluster_list {
	struct pg_cluster **v;       /* stable pointers: sessions point here */
	size_t n, cap;
};

/* Release everything a cluster or session owns; NULL-safe. */
void cluster_free(struct pg_cluster *c);
void session_clear(struct session *s);
void session_list_clear(struct session_list *l);
void cluster_list_clear(struct cluster_list *l);

/* Append a zeroed session (unknowns preset); NULL on ENOMEM. */
struct session *session_list_add(struct session_list *l);
int cluster_list_add(struct cluster_list *l, struct pg_cluster *c);

/*
 * The connection slots of C an ordinary role can still take: what
 * max_connections leaves after superuser_reserved_connections and
 * reserved_connections, less USED (the client backends: those still
 * authenticating take a slot; walsenders have their own, max_wal_senders,
 * since PostgreSQL 12).  INT_MIN when the settings are unknown.
 */
int cluster_slots_free(const struct pg_cluster *c, size_t used);

/* The client backends of C in L (walsenders are not; those starting are):
 * what max_connections counts. */
size_t cluster_slots_used(const struct pg_cluster *c, const struct session_list *l);

/* "6/100": USED of C's max_connections ("6/?" when unknown), into BUF. */
const char *cluster_slots_text(const struct pg_cluster *c, size_t used, char *buf, size_t len);

/* "ESTABLISHED", "CLOSE_WAIT", ... for a TCP state number; NULL if none. */
const char *tcp_state_name(int state);

/*
 * What a lockdown's state is kept under (lockstate's directory name and
 * record): the data directory path for a cluster that shares our mount
 * namespace; for one in its own, that path qualified by its container
 * ("docker:ID:/var/lib/postgresql/data"), or by its mount namespace when
 * no runtime names it ("mnt:INODE:/path": gone when the namespace is).
 * Malloc'd, NULL on ENOMEM.
 */
char *cluster_state_key(const struct pg_cluster *c);

/* The client of S for people: "[local]", "10.1.2.3:5432",
 * "[2001:db8::7]:5432", or "-". */
void session_client_text(const struct session *s, char *buf, size_t len);

/* Label for a cluster in tables: its cluster_name, else its port. */
const char *cluster_label(const struct pg_cluster *c, char *buf, size_t len);

#endif
