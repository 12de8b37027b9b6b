// SPDX-License-Identifier: GPL-2.0
/* sd_notify(3) messages to the service manager (see service.h): libsystemd
 * does the socket, its address forms and credentials.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "service.h"
#include "util/clock.h"
#include "util/log.h"

static void service_notify(const char *msg)
{
	int err = sd_notify(0, msg);

	/* 0: no $NOTIFY_SOCKET, not a service; fine. */
	if (err < 0)
		pr_warn("sd_notify: %s", msg);
}

void service_status(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	service_notify(msg);
}

void service_ready(unsigned int nrelays)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%u relay%s running", nrelays,
		 nrelays == 1 ? "" : "s");
	service_notify(msg);
}

void service_reloading(void)
{
	char msg[96];

	/* MONOTONIC_USEC: what Type=notify-reload (systemd 253+) asks for. */
	snprintf(msg, sizeof(msg), "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
		 (unsigned long long)mono_us());
	service_notify(msg);
}

void service_stopping(void)
{
	service_notify("STOPPING=1\nSTATUS=stopping");
}
