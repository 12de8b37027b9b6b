// SPDX-License-Identifier: GPL-2.0
/* QMP client (see qmp.h): line framing, json-c parsing, the capabilities
 * handshake as a small state machine driven by replies, events reported as
 * they come. QMP's messages are single-line JSON objects.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <json.h>

#include "agent/qmp.h"

#define QMP_LINE_MAX	(64 * 1024)

struct qmp {
	int fd;
	unsigned int flags;
	enum qmp_state state;
	size_t len;
	char buf[QMP_LINE_MAX];
};

static void copy_str(char *dst, size_t size, json_object *o)
{
	const char *s = o && json_object_is_type(o, json_type_string) ?
			json_object_get_string(o) : "";

	snprintf(dst, size, "%s", s);
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static void parse_event(json_object *root, json_object *ev, struct qmp_msg *m)
{
	json_object *data = get(root, "data"), *ts = get(root, "timestamp");

	m->type = QMP_MSG_EVENT;
	copy_str(m->event, sizeof(m->event), ev);
	copy_str(m->status, sizeof(m->status), get(data, "status"));
	copy_str(m->device, sizeof(m->device), get(data, "device-id"));
	if (ts)
		m->ts_us = json_object_get_int64(get(ts, "seconds")) * 1000000 +
			   json_object_get_int64(get(ts, "microseconds"));
}

int qmp_parse_line(const char *line, size_t len, struct qmp_msg *m)
{
	enum json_tokener_error jerr;
	struct json_tokener *tok;
	json_object *root, *v;
	size_t end;
	int err = 0;

	memset(m, 0, sizeof(*m));
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	/* the whole line is one object: nothing after it, nothing pending */
	end = json_tokener_get_parse_end(tok);
	while (end < len && (line[end] == ' ' || line[end] == '\t' || line[end] == '\r'))
		end++;
	if (!root || jerr != json_tokener_success || end != len ||
	    !json_object_is_type(root, json_type_object)) {
		err = -EPROTO;
		goto out;
	}
	if ((v = get(root, "event")) && json_object_is_type(v, json_type_string)) {
		parse_event(root, v, m);
	} else if (get(root, "return")) {
		m->type = QMP_MSG_RETURN;
	} else if ((v = get(root, "error"))) {
		m->type = QMP_MSG_ERROR;
		copy_str(m->desc, sizeof(m->desc), get(v, "desc"));
	} else if ((v = get(root, "QMP"))) {
		m->type = QMP_MSG_GREETING;
		v = get(get(v, "version"), "qemu");
		m->major = json_object_get_int(get(v, "major"));
		m->minor = json_object_get_int(get(v, "minor"));
	} else {
		err = -EPROTO;
	}
out:
	json_object_put(root);
	json_tokener_free(tok);
	return err;
}

int qmp_open(struct qmp **qp, const char *path, unsigned int flags)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qmp *q;
	int err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->flags = flags;
	q->state = QMP_GREETING;
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		err = -errno;
		goto err;
	}
	/* a unix socket connects at once or says EAGAIN: never in progress */
	if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		goto err;
	}
	*qp = q;
	return 0;
err:
	qmp_close(q);
	return err;
}

int qmp_fd(const struct qmp *q)
{
	return q->fd;
}

enum qmp_state qmp_state(const struct qmp *q)
{
	return q->state;
}

/* Commands are a few dozen bytes into an empty socket buffer: a short
 * write would mean QEMU stopped reading; that is an error, not a wait.
 */
static int send_cmd(struct qmp *q, const char *cmd)
{
	size_t len = strlen(cmd);
	ssize_t n = send(q->fd, cmd, len, MSG_NOSIGNAL);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EAGAIN;
}

static int handshake(struct qmp *q, const struct qmp_msg *m)
{
	switch (q->state) {
	case QMP_GREETING:
		if (m->type != QMP_MSG_GREETING)
			return -EPROTO;
		q->state = QMP_CAPS;
		return send_cmd(q, "{\"execute\": \"qmp_capabilities\"}\n");
	case QMP_CAPS:
		if (m->type != QMP_MSG_RETURN)
			return -EPROTO;
		if (!(q->flags & QMP_MIGRATION_EVENTS)) {
			q->state = QMP_READY;
			return 0;
		}
		q->state = QMP_EVENTS_ON;
		return send_cmd(q, "{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
			"{\"capabilities\": [{\"capability\": \"events\", \"state\": true}]}}\n");
	case QMP_EVENTS_ON:
		/* QEMU refuses to change capabilities while a migration runs
		 * (a client reconnecting mid-migration); the one that started
		 * it had them on, and they stay on: events flow either way
		 */
		if (m->type != QMP_MSG_RETURN && m->type != QMP_MSG_ERROR)
			return -EPROTO;
		q->state = QMP_READY;
		return 0;
	default:
		return 0;
	}
}

static int handle_line(struct qmp *q, const char *line, size_t len, qmp_fn fn, void *arg)
{
	struct qmp_msg m;
	int err;

	if (len == 0 || (len == 1 && line[0] == '\r'))
		return 0;
	err = qmp_parse_line(line, len, &m);
	if (err)
		return err;
	/* events may come at any point of the handshake */
	if (m.type == QMP_MSG_EVENT) {
		fn(&m, arg);
		return 0;
	}
	if (q->state != QMP_READY) {
		err = handshake(q, &m);
		if (err)
			return err;
	}
	fn(&m, arg);
	return 0;
}

int qmp_dispatch(struct qmp *q, qmp_fn fn, void *arg)
{
	size_t start, i;
	ssize_t n;
	int err;

	for (;;) {
		if (q->len == sizeof(q->buf))
			return -EMSGSIZE;
		n = recv(q->fd, q->buf + q->len, sizeof(q->buf) - q->len, 0);
		if (n == 0)
			return -ENOTCONN;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		i = q->len;
		q->len += (size_t)n;
		start = 0;
		for (; i < q->len; i++) {
			if (q->buf[i] != '\n')
				continue;
			err = handle_line(q, q->buf + start, i - start, fn, arg);
			if (err)
				return err;
			start = i + 1;
		}
		memmove(q->buf, q->buf + start, q->len - start);
		q->len -= start;
	}
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q);
}
