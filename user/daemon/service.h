/* SPDX-License-Identifier: GPL-2.0 */
/* Telling the service manager how the daemon is doing (sd_notify(3)):
 * READY=1 once the configured relays are up, STATUS= lines, reloads and
 * the stop. Without $NOTIFY_SOCKET (not under systemd) each call does
 * nothing.
 */
#ifndef VXDP_SERVICE_H
#define VXDP_SERVICE_H

/* The configured relays are up: READY=1 and a STATUS= line. */
void service_ready(unsigned int nrelays);
/* SIGHUP: RELOADING=1 now, service_ready() once the reload is done. */
void service_reloading(void);
void service_stopping(void);
/* A STATUS= line (systemctl status shows the last). */
void service_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
