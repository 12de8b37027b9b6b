// SPDX-License-Identifier: GPL-2.0
/* Guest side of selftests/e2e/test_failover.sh: reports the guest's view of
 * its failover NICs on the console, stamped with the guest's clock, so the
 * host can place "primary registered", "primary link up" and "primary gone"
 * on its own timeline (the console's arrival times lag by whatever the
 * emulated serial port takes; the stamps do not).
 *
 *   vxdp-failover-mon [HEARTBEAT-MS]
 *
 * Console lines:
 *   VXDP-LINK t=SEC.USEC ev=dump|new|del name=IFNAME role=primary|standby|master|other
 *	up=0|1 carrier=0|1 slave=0|1
 *	a link notification (RTNLGRP_LINK), or the state at start (dump);
 *	role from the driver (e1000*: primary, virtio_net: standby), slave: it
 *	has a master (net_failover's).
 *   VXDP-CLOCK t=SEC.USEC
 *	every HEARTBEAT-MS (default 200): the host takes the smallest
 *	difference between its arrival time and t as the clocks' offset.
 * Runs until killed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#define MAX_IFINDEX 64

static char roles[MAX_IFINDEX][8];

static void stamp(char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, len, "%lld.%06ld", (long long)ts.tv_sec, ts.tv_nsec / 1000);
}

static const char *role_of(int ifindex, const char *name)
{
	char path[128], target[256];
	const char *drv, *r = "other";
	ssize_t n;

	if (ifindex > 0 && ifindex < MAX_IFINDEX && roles[ifindex][0])
		return roles[ifindex];
	snprintf(path, sizeof(path), "/sys/class/net/%s/device/driver", name);
	n = readlink(path, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = 0;
		drv = strrchr(target, '/');
		drv = drv ? drv + 1 : target;
		if (!strncmp(drv, "e1000", 5))
			r = "primary";
		else if (!strcmp(drv, "virtio_net"))
			r = "standby";
	} else if (!strcmp(name, "eth0")) {
		r = "master";
	}
	if (ifindex > 0 && ifindex < MAX_IFINDEX)
		snprintf(roles[ifindex], sizeof(roles[ifindex]), "%s", r);
	return r;
}

static void report(struct nlmsghdr *h, const char *ev)
{
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	struct rtattr *a = IFLA_RTA(ifi);
	char name[IFNAMSIZ] = "?", t[32];
	int slave = 0;

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_IFNAME)
			snprintf(name, sizeof(name), "%s", (char *)RTA_DATA(a));
		else if (a->rta_type == IFLA_MASTER)
			slave = 1;
	}
	if (!strcmp(name, "lo"))
		return;
	stamp(t, sizeof(t));
	printf("VXDP-LINK t=%s ev=%s name=%s role=%s up=%d carrier=%d slave=%d\n", t,
	       h->nlmsg_type == RTM_DELLINK ? "del" : ev, name,
	       role_of(ifi->ifi_index, name), !!(ifi->ifi_flags & IFF_UP),
	       !!(ifi->ifi_flags & IFF_LOWER_UP), slave);
	if (h->nlmsg_type == RTM_DELLINK && ifi->ifi_index > 0 && ifi->ifi_index < MAX_IFINDEX)
		roles[ifi->ifi_index][0] = 0;
}

/* 1 when the dump is over */
static int handle(int fd, const char *ev)
{
	char buf[32768];
	struct nlmsghdr *h;
	ssize_t n;
	int done = 0;

	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return errno == EINTR || errno == ENOBUFS ? 0 : -1;
	for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
			done = 1;
		else if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK)
			report(h, ev);
	}
	fflush(stdout);
	return done;
}

int main(int argc, char **argv)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = {
		.h.nlmsg_len = sizeof(req),
		.h.nlmsg_type = RTM_GETLINK,
		.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.i.ifi_family = AF_UNSPEC,
	};
	int ms = argc > 1 ? atoi(argv[1]) : 200;
	struct pollfd p;
	char t[32];
	int fd, r;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(fd, &req, sizeof(req), 0) < 0) {
		perror("vxdp-failover-mon: netlink");
		return 1;
	}
	/* the dump first (notifications may interleave: reported as they come) */
	while ((r = handle(fd, "dump")) == 0)
		;
	if (r < 0)
		return 1;
	p.fd = fd;
	p.events = POLLIN;
	for (;;) {
		r = poll(&p, 1, ms > 0 ? ms : 200);
		if (r > 0) {
			if (handle(fd, "new") < 0)
				return 1;
			continue;
		}
		stamp(t, sizeof(t));
		printf("VXDP-CLOCK t=%s\n", t);
		fflush(stdout);
	}
}
