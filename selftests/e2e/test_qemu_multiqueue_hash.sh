#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_qemu_multiqueue.sh again with a single-queue VF for the guest's four
# queue pairs: every peer->guest frame arrives on VF queue 0, so the spread
# over the guest's rx queues is the relay's own flow hash, and the 32-flow
# check fails unless the relay spreads them.
VF_QUEUES=1 exec "$(dirname "$0")/test_qemu_multiqueue.sh"
