// SPDX-License-Identifier: GPL-2.0
/* The backend interface's common half (see failover_backend.h): opening,
 * and the state machine's switch actions mapped onto a backend's ops.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/failover_backend.h"
#include "net/nl_util.h"
#include "net/nl_watch.h"
#include "util/log.h"

int fo_backend_open(struct fo_backend **bp, const struct fo_backend_cfg *cfg)
{
	struct fo_backend *b;
	int err;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cfg = *cfg;
	b->ops = cfg->kind == FO_BACKEND_SRIOV ? &fo_backend_sriov : &fo_backend_bridge;
	err = nl_route_open(&b->sk);
	if (!err)
		err = b->ops->open(b);
	if (err) {
		fo_backend_close(b);
		return err;
	}
	*bp = b;
	return 0;
}

void fo_backend_close(struct fo_backend *b)
{
	if (!b)
		return;
	if (b->sk && b->ops->close)
		b->ops->close(b);
	nl_route_close(b->sk);
	free(b);
}

int fo_backend_apply(struct fo_backend *b, const struct fo_action *a)
{
	struct fo_vf_attrs want = { .link = a->link, .spoofchk = a->on, .trust = a->on };
	uint32_t applied;
	char mac[18];
	int err;

	memcpy(want.mac, a->mac, FO_MAC_LEN);
	switch (a->type) {
	case FO_ACT_VF_MAC:
		err = b->ops->primary_set(b, FO_VF_MAC, &want, &applied);
		break;
	case FO_ACT_VF_LINK:
		err = b->ops->primary_set(b, FO_VF_LINK, &want, &applied);
		break;
	case FO_ACT_RELAY_SPOOFCHK:
		err = b->ops->relay_set(b, FO_VF_SPOOFCHK, &want, &applied);
		break;
	case FO_ACT_RELAY_TRUST:
		err = b->ops->relay_set(b, FO_VF_TRUST, &want, &applied);
		break;
	case FO_ACT_FDB_ADD:
	case FO_ACT_FDB_DEL:
		err = b->ops->fdb(b, a->path, a->type == FO_ACT_FDB_ADD);
		break;
	default:
		return 1;
	}
	if (err)
		pr_warn("failover %s: %s %s failed: %s", fo_mac_str(b->cfg.mac, mac),
			b->ops->name, fo_action_name(a->type), strerror(-err));
	return err;
}

int fo_backend_observe(struct fo_backend *b, struct fo_obs *obs)
{
	return b->ops->observe(b, obs);
}

/* The backend's own events first (its PF, bridge or ports), then those
 * every backend shares: the relay's VF netdev coming and going, and a
 * lost notification, after which everything is read again.
 */
int fo_backend_match(struct fo_backend *b, const struct nl_watch_event *nev,
		     struct fo_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (b->ops->match(b, nev, ev))
		return 1;
	switch (nev->kind) {
	case NLW_LINK_NEW:
	case NLW_LINK_DEL:
		if (nev->ifindex != b->relay_ifindex)
			return 0;
		ev->type = FO_EV_RELAY_VF;
		ev->up = nev->kind == NLW_LINK_NEW;
		return 1;
	case NLW_OVERRUN:
		ev->type = FO_EV_VF_CHANGED;
		return 1;
	default:
		return 0;
	}
}

int fo_backend_primary_tx_watch(struct fo_backend *b)
{
	return b->ops->primary_tx_watch ? b->ops->primary_tx_watch(b) : -EOPNOTSUPP;
}

int fo_backend_primary_tx(struct fo_backend *b, uint64_t *frames)
{
	return b->ops->primary_tx ? b->ops->primary_tx(b, frames) : -EOPNOTSUPP;
}
