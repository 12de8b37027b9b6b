// SPDX-License-Identifier: GPL-2.0
/* Listening vhost-user socket: careful about what already sits at the path. */
#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "vhost_user_sock.h"

/* Connections the kernel queues until the relay accepts them: a burst of
 * QEMUs starting at once, each refused at once but one.
 */
#define VHOST_USER_BACKLOG 16

static int sock_fill_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

/* Is something already serving @path? Returns 0 if the path is free (or was
 * a stale socket, now removed), or a negative errno.
 */
static int sock_clear_path(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, err;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		pr_err("socket %s: %s", path, strerror(errno));
		return err;
	}
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("socket %s: path exists and is not a socket", path);
		return -EEXIST;
	}
	/* Non-blocking: a live listener with a full backlog says EAGAIN
	 * rather than keeping us waiting.
	 */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	err = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) ? errno : 0;
	close(fd);
	if (!err || err == EAGAIN) {
		pr_err("socket %s: another process is serving it (another relay?)", path);
		return -EADDRINUSE;
	}
	if (unlink(path) && errno != ENOENT) {
		err = -errno;
		pr_err("socket %s: cannot remove stale socket: %s", path, strerror(errno));
		return err;
	}
	return 0;
}

/* Can anyone but root open @path (write permission on it, search on its
 * directory)? Root-owned and without group or other bits for it, QEMU
 * running as anyone else (libvirt: libvirt-qemu) gets "Permission denied".
 * (Only the socket and its own directory: further up is the system's.)
 */
static bool reachable_by_others(const struct stat *st, mode_t uw, mode_t gw, mode_t ow)
{
	return (st->st_uid && (st->st_mode & uw)) || (st->st_gid && (st->st_mode & gw)) ||
	       (st->st_mode & ow);
}

static void sock_warn_root_only(const char *path)
{
	char dirbuf[PATH_MAX];
	struct stat s, d;

	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	if (stat(path, &s) || stat(dirname(dirbuf), &d))
		return;
	if (reachable_by_others(&s, S_IWUSR, S_IWGRP, S_IWOTH) &&
	    reachable_by_others(&d, S_IXUSR, S_IXGRP, S_IXOTH))
		return;
	pr_warn("socket %s: only root can connect (socket %04o %u:%u, directory %04o %u:%u): QEMU running as another user (libvirt: libvirt-qemu) gets 'Permission denied'; give owner=USER or group=GROUP,perm=0660, or put it in the service's /run/vxdp-relay/vm (README: libvirt)",
		path, s.st_mode & 07777, s.st_uid, s.st_gid, d.st_mode & 07777, d.st_uid,
		d.st_gid);
}

const char *vhost_user_sock_connect_hint(int err)
{
	if (err == -EACCES || err == -EPERM)
		return ": the relay may not write to that socket or search its directory; under libvirt QEMU runs as libvirt-qemu and creates the socket as that user: use a directory of group kvm with the setgid bit (the service's /run/vxdp-relay/vm), README: libvirt";
	return "";
}

int vhost_user_sock_check_dir(const char *path)
{
	char dirbuf[PATH_MAX];
	struct stat st;

	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	if (stat(dirname(dirbuf), &st) || !S_ISDIR(st.st_mode)) {
		pr_err("socket %s: directory %s does not exist", path, dirbuf);
		return -ENOENT;
	}
	return 0;
}

int vhost_user_sock_listen(const char *path, uid_t owner, gid_t group,
			   mode_t perm)
{
	struct sockaddr_un sun;
	int fd, err;

	if (sock_fill_addr(&sun, path)) {
		pr_err("socket %s: path too long (max %zu bytes)", path,
		       sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	err = vhost_user_sock_check_dir(path);
	if (err)
		return err;
	err = sock_clear_path(path, &sun);
	if (err)
		return err;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err = -errno;
		pr_err("socket: %s", strerror(errno));
		return err;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = -errno;
		pr_err("socket %s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	if ((owner != (uid_t)-1 || group != (gid_t)-1) && chown(path, owner, group)) {
		err = -errno;
		pr_err("socket %s: chown to %d:%d: %s%s", path, (int)owner, (int)group,
		       strerror(errno), err == -EPERM ?
		       " (another owner, or a group the daemon is not in, takes CAP_CHOWN, which the service does not have: use group=kvm,perm=0660 or the service's /run/vxdp-relay/vm, README: libvirt)" : "");
		goto err_unlink;
	}
	if (perm && chmod(path, perm)) {
		err = -errno;
		pr_err("socket %s: chmod %o: %s", path, perm, strerror(errno));
		goto err_unlink;
	}
	if (listen(fd, VHOST_USER_BACKLOG)) {
		err = -errno;
		pr_err("socket %s: listen: %s", path, strerror(errno));
		goto err_unlink;
	}
	sock_warn_root_only(path);
	return fd;

err_unlink:
	unlink(path);
	close(fd);
	return err;
}

int vhost_user_sock_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd, err;

	if (sock_fill_addr(&sun, path))
		return -ENAMETOOLONG;
	/* Non-blocking: a unix connect then completes at once or fails at
	 * once (ENOENT, ECONNREFUSED, EAGAIN with a full backlog) instead of
	 * waiting for a listener that never accepts.
	 */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int vhost_user_sock_accept(int listen_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	return fd < 0 ? -errno : fd;
}
