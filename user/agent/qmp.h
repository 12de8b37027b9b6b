/* SPDX-License-Identifier: GPL-2.0 */
/* A QEMU QMP client for the failover agent: connects to a QMP unix socket,
 * negotiates capabilities (and, if asked, MIGRATION events with
 * `migrate-set-capabilities events=on`), then reports QEMU's events.
 * Non-blocking and fd-driven: the owner polls qmp_fd() (an event loop's poll
 * source) and calls qmp_dispatch() when it is readable.
 */
#ifndef VXDP_QMP_H
#define VXDP_QMP_H

#include <stdbool.h>
#include <stddef.h>

enum qmp_msg_type {
	QMP_MSG_GREETING,	/* {"QMP": {"version": ...}} */
	QMP_MSG_RETURN,		/* {"return": ...} */
	QMP_MSG_ERROR,		/* {"error": {"class", "desc"}} */
	QMP_MSG_EVENT,		/* {"event": NAME, "data": {...}, "timestamp"} */
};

struct qmp_msg {
	enum qmp_msg_type type;
	char event[40];		/* events: "MIGRATION", "UNPLUG_PRIMARY", ... */
	char status[24];	/* MIGRATION: data.status ("wait-unplug", ...) */
	char device[64];	/* FAILOVER_NEGOTIATED, UNPLUG_PRIMARY: data.device-id */
	char desc[128];		/* errors: error.desc */
	int major, minor;	/* greeting: QEMU's version */
	long long ts_us;	/* events: timestamp, microseconds since the epoch */
};

/* One QMP line into @m: 0, or -EPROTO when it is not a QMP message. */
int qmp_parse_line(const char *line, size_t len, struct qmp_msg *m);

enum qmp_state {
	QMP_GREETING,		/* connected, waiting for QEMU's greeting */
	QMP_CAPS,		/* qmp_capabilities sent */
	QMP_EVENTS_ON,		/* migrate-set-capabilities events=on sent (an
				 * error reply, as during a migration, is taken
				 * as "already on") */
	QMP_READY,		/* negotiated: events flow */
};

#define QMP_MIGRATION_EVENTS	(1u << 0)	/* ask for MIGRATION events */

struct qmp;

/* Called for each event (and, for the record, each reply). */
typedef void (*qmp_fn)(const struct qmp_msg *m, void *arg);

/* Connect to @path: 0, -EAGAIN (QEMU's backlog is full: try again), or
 * another negative errno.
 */
int qmp_open(struct qmp **q, const char *path, unsigned int flags);
int qmp_fd(const struct qmp *q);
enum qmp_state qmp_state(const struct qmp *q);
/* Read what QEMU sent, answer the handshake, report events to @fn. 0, or
 * -ENOTCONN when QEMU closed the socket, -EPROTO on a malformed message or
 * a refused handshake, -EMSGSIZE on a line over 64 KiB, or another
 * negative errno. After an error the connection is of no further use.
 */
int qmp_dispatch(struct qmp *q, qmp_fn fn, void *arg);
void qmp_close(struct qmp *q);

#endif
