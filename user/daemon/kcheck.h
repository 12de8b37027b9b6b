/* SPDX-License-Identifier: GPL-2.0 */
/* Start-up checks of the kernel features vxdp-relay needs (see Kconfig-notes). */
#ifndef VXDP_KCHECK_H
#define VXDP_KCHECK_H

/* Log one clear line per missing feature. Returns 0 when all are there,
 * -EOPNOTSUPP otherwise.
 */
int kcheck_run(void);

#endif
