/* SPDX-License-Identifier: GPL-2.0 */
/* A relay's frontend connection (relay.c's other half): the listening socket
 * or the client-mode connect loop, and the one frontend's messages.
 */
#ifndef VXDP_RELAY_CONN_H
#define VXDP_RELAY_CONN_H

struct relay;

/* Server mode: listen on the relay's socket; client mode: connect now and
 * keep retrying with backoff. Returns 0 or a negative errno (logged).
 */
int relay_conn_open(struct relay *r);

/* Stop listening or reconnecting and drop the frontend, if any, for good. */
void relay_conn_close(struct relay *r);

#endif
