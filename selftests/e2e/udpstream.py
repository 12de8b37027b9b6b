#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Peer side of selftests/e2e/test_migration.sh: a numbered UDP stream for
# the guest's udpcheck.c (the datagram format is described there).
#
#   udpstream.py DST PORT EPOCH RATE STOPFILE [COUNT]   the stream
#   udpstream.py DST PORT EPOCH hold SECS               ask the guest to hold rx
#
# The stream sends RATE datagrams/s of 64..1472 bytes until STOPFILE exists
# (or COUNT were sent; it still waits for STOPFILE), then END (repeated: UDP
# may lose it). SIGUSR1 prints "mark seq=N" (the
# next seq to go), so the test can place events in the stream. No UDP
# checksums (SO_NO_CHECK): a datagram corrupted on its way into guest memory
# then reaches the checker instead of being dropped by the guest's stack.
import os
import signal
import socket
import struct
import sys
import time

MAGIC, END_SEQ, HOLD_SEQ = 0x474d5856, 0xffffffff, 0xfffffffe
HDR = "<IIIII"
SO_NO_CHECK = 11


def main():
    dst, port, epoch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_NO_CHECK, 1)
    if sys.argv[4] == "hold":
        for _ in range(5):
            s.sendto(struct.pack(HDR, MAGIC, epoch, HOLD_SEQ, 20,
                                 int(sys.argv[5])), (dst, port))
            time.sleep(0.02)
        return
    rate, stop = float(sys.argv[4]), sys.argv[5]
    count = int(sys.argv[6]) if len(sys.argv) > 6 else 1 << 30
    pat = bytes((k * 7) & 0xff for k in range(251 + 1500))
    state = {"seq": 0}
    signal.signal(signal.SIGUSR1,
                  lambda *_: print("mark seq=%d" % state["seq"], flush=True))
    errors = 0
    t0 = time.monotonic()
    while not os.path.exists(stop):
        due = min(int((time.monotonic() - t0) * rate), count)
        while state["seq"] < due:
            seq = state["seq"]
            n = 64 + (seq * 97) % 1409
            o = seq % 251
            try:
                s.sendto(struct.pack(HDR, MAGIC, epoch, seq, n, 0) +
                         pat[o:o + n - 20], (dst, port))
            except OSError:
                errors += 1
            state["seq"] = seq + 1
        time.sleep(0.005)
    for _ in range(20):
        s.sendto(struct.pack(HDR, MAGIC, epoch, END_SEQ, 20, state["seq"]),
                 (dst, port))
        time.sleep(0.05)
    print("sent=%d errors=%d secs=%.1f" % (state["seq"], errors,
                                           time.monotonic() - t0), flush=True)


if __name__ == "__main__":
    main()
