#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_qemu_guest.sh again, with the guest's virtio-net on a packed
# virtqueue (VIRTIO_F_RING_PACKED): the same checks over the relay's
# packed-ring datapath. Fails if the ring layout falls back to split.
GUEST_NIC_OPTS=packed=on GUEST_EXPECT_RING=packed exec "$(dirname "$0")/test_qemu_guest.sh"
