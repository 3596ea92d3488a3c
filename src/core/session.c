/* SPDX-License-Identifier: MIT */
/*
 * session.c -- the model's memory and small lookups (core, no I/O).
 */
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgevict/session.h"

void cluster_free(struct pg_cluster *c)
{
	if (!c)
		return;
	free(c->data_dir);
	free(c->socket_dir);
	free(c->listen_addr);
	free(c->status);
	free(c->version);
	free(c->cluster_name);
	free(c->hba_file);
	free(c->hba_conflict);
	free(c->unverified);
	free(c->owner_name);
	free(c->sql_error);
	free(c->container);
	free(c->container_id);
	free(c->net_error);
	free(c);
}

void session_clear(struct session *s)
{
	if (!s)
		return;
	free(s->title);
	free(s->user);
	free(s->database);
	free(s->activity);
	free(s->application_name);
	free(s->sql_state);
	free(s->query);
	memset(s, 0, sizeof(*s));
}

void session_list_clear(struct session_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		session_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void cluster_list_clear(struct cluster_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		cluster_free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct session *session_list_add(struct session_list *l)
{
	struct session *s;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct session *nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv)
			return NULL;
		l->v = nv;
		l->cap = cap;
	}
	s = &l->v[l->n++];
	memset(s, 0, sizeof(*s));
	s->proc_state = '?';
	s->start_us = TIME_UNKNOWN;
	s->client_port = -1;
	s->local_port = -1;
	s->tcp_state = -1;
	s->state_change_us = TIME_UNKNOWN;
	s->xact_start_us = TIME_UNKNOWN;
	s->query_start_us = TIME_UNKNOWN;
	return s;
}

int cluster_list_add(struct cluster_list *l, struct pg_cluster *c)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct pg_cluster **nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = c;
	return 0;
}

int cluster_slots_free(const struct pg_cluster *c, size_t used)
{
	if (c->max_connections <= 0 || c->su_reserved < 0 || c->reserved < 0)
		return INT_MIN;
	return c->max_connections - c->su_reserved - c->reserved - (int)(used > INT_MAX / 2 ? INT_MAX / 2 : used);
}

const char *cluster_slots_text(const struct pg_cluster *c, size_t used, char *buf, size_t len)
{
	if (c->max_connections > 0)
		snprintf(buf, len, "%zu/%d", used, c->max_connections);
	else
		snprintf(buf, len, "%zu/?", used);
	return buf;
}

size_t cluster_slots_used(const struct pg_cluster *c, const struct session_list *l)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++)
		if (l->v[i].cluster == c && l->v[i].backend_type &&
		    strcmp(l->v[i].backend_type, "client backend") == 0)
			n++;
	return n;
}

const char *tcp_state_name(int state)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "ESTABLISHED", [TCP_SYN_SENT] = "SYN_SENT",
		[TCP_SYN_RECV] = "SYN_RECV",       [TCP_FIN_WAIT1] = "FIN_WAIT1",
		[TCP_FIN_WAIT2] = "FIN_WAIT2",     [TCP_TIME_WAIT] = "TIME_WAIT",
		[TCP_CLOSE] = "CLOSE",             [TCP_CLOSE_WAIT] = "CLOSE_WAIT",
		[TCP_LAST_ACK] = "LAST_ACK",       [TCP_LISTEN] = "LISTEN",
		[TCP_CLOSING] = "CLOSING",
	};

	if (state < 0 || (size_t)state >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[state];
}

const char *ns_own_label(unsigned ns_own, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} kinds[] = { { NS_NET, "net" }, { NS_PID, "pid" }, { NS_MNT, "mnt" }, { NS_USER, "user" } };
	size_t i, at = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if ((ns_own & kinds[i].bit) && at < len)
			at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? "+" : "", kinds[i].name);
	return buf;
}

char *cluster_state_key(const struct pg_cluster *c)
{
	char *key;

	if (!(c->ns_own & NS_MNT))
		return strdup(c->data_dir ? c->data_dir : "");
	if (c->container && asprintf(&key, "%s:%s", c->container_id ? c->container_id : c->container,
				     c->data_dir ? c->data_dir : "") >= 0)
		return key;
	if (!c->container && asprintf(&key, "mnt:%lu:%s", c->mntns, c->data_dir ? c->data_dir : "") >= 0)
		return key;
	return NULL;
}

const char *cluster_label(const struct pg_cluster *c, char *buf, size_t len)
{
	if (c->cluster_name && *c->cluster_name)
		return c->cluster_name;
	snprintf(buf, len, "%d", c->port);
	return buf;
}

void session_client_text(const struct session *s, char *buf, size_t len)
{
	if (s->transport == TRANSPORT_UNIX)
		snprintf(buf, len, "[local]");
	else if (s->client_addr[0] && strchr(s->client_addr, ':'))
		snprintf(buf, len, "[%s]:%d", s->client_addr, s->client_port);
	else if (s->client_addr[0])
		snprintf(buf, len, "%s:%d", s->client_addr, s->client_port);
	else
		snprintf(buf, len, "-");
}
