#!/usr/bin/env python3
"""A line-by-line transcription of the kernel's mh scheduler (net/netfilter/ipvs/ip_vs_mh.c,
64-bit little-endian, CONFIG_IP_VS_MH_TAB_INDEX=12) and of hsiphash (lib/siphash.c), written
apart from the C++ so that test_sched_more.cpp can pin the values it prints.

SipHash-1-3 is checked first against CPython's own str/bytes hash, which is SipHash-1-3 with an
all-zero key when PYTHONHASHSEED=0 (Python/pyhash.c, Python >= 3.11).

Run: python3 tests/unit/dataplane/mh_reference.py
"""
import os
import sys

MASK = (1 << 64) - 1
M = 4093  # primes[12 - 8]
TAB_BITS = 12 // 2
HASH1 = 2654435761
HASH2 = 2654446892


def rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & MASK


def siphash(c, d, data, k0, k1):
    v0 = 0x736F6D6570736575 ^ k0
    v1 = 0x646F72616E646F6D ^ k1
    v2 = 0x6C7967656E657261 ^ k0
    v3 = 0x7465646279746573 ^ k1

    def rnd():
        nonlocal v0, v1, v2, v3
        v0 = (v0 + v1) & MASK; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
        v2 = (v2 + v3) & MASK; v3 = rotl(v3, 16); v3 ^= v2
        v0 = (v0 + v3) & MASK; v3 = rotl(v3, 21); v3 ^= v0
        v2 = (v2 + v1) & MASK; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)

    full = len(data) - len(data) % 8
    for i in range(0, full, 8):
        m = int.from_bytes(data[i:i + 8], "little")
        v3 ^= m
        for _ in range(c):
            rnd()
        v0 ^= m
    b = (len(data) << 56) | int.from_bytes(data[full:], "little")
    v3 ^= b
    for _ in range(c):
        rnd()
    v0 ^= b
    v2 ^= 0xFF
    for _ in range(d):
        rnd()
    return v0 ^ v1 ^ v2 ^ v3


def self_check():
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable] + sys.argv,
                  dict(os.environ, PYTHONHASHSEED="0"))
    assert sys.hash_info.algorithm == "siphash13", sys.hash_info
    for data in [b"\x01\x02\x03\x04", bytes(range(15)), bytes(range(8)), b"fastvs mh"]:
        h = siphash(1, 3, data, 0, 0)
        signed = h - (1 << 64) if h >> 63 else h
        if signed == -1:
            signed = -2
        assert hash(data) == signed, data
    # The SipHash paper's example (key 00..0f, message 00..0e) and the empty message.
    k0 = int.from_bytes(bytes(range(8)), "little")
    k1 = int.from_bytes(bytes(range(8, 16)), "little")
    assert siphash(2, 4, bytes(range(15)), k0, k1) == 0xA129CA6149BE45E5
    assert siphash(2, 4, b"", k0, k1) == 0x726FDB47DD0E0E31


def hsiphash_u32(v, key):
    return siphash(1, 3, (v & 0xFFFFFFFF).to_bytes(4, "little"), key, key) & 0xFFFFFFFF


def hashkey(addr, port, key, offset):
    return hsiphash_u32(offset + port + addr, key)


def gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def fls(x):
    return x.bit_length()


def build(dests):
    """dests: [(addr, port, last_weight)] in list order -> lookup table of indices (None)."""
    g = 0
    for _, _, w in dests:
        if w > 0:
            g = gcd(w, g) if g > 0 else w
    lookup = [None] * M
    if g < 1:
        return lookup
    mw = max(w for _, _, w in dests)
    rshift = max(fls(mw // g) - TAB_BITS, 0)
    setup = []
    for addr, port, lw in dests:
        offset = hashkey(addr, port, HASH1, 0) % M
        skip = hashkey(addr, port, HASH2, 0) % (M - 1) + 1
        turns = (lw // g) >> rshift or (1 if lw != 0 else 0)
        setup.append([offset, skip, turns])
    table = [False] * M
    n = 0
    dt_count = 0
    while n < M:
        i = 0
        while i < len(dests):
            ds = setup[i]
            if ds[2] < 1:
                i += 1
                continue
            c = ds[0]
            while table[c]:
                ds[0] += ds[1]
                if ds[0] >= M:
                    ds[0] -= M
                c = ds[0]
            table[c] = True
            lookup[c] = i
            n += 1
            if n == M:
                return lookup
            dt_count += 1
            if dt_count >= ds[2]:
                dt_count = 0
                i += 1
    return lookup


def get(lookup, avail, addr, port):
    d = lookup[hashkey(addr, port, HASH1, 0) % M]
    return None if d is None or not avail[d] else d


def get_fallback(lookup, avail, addr, port):
    ihash = hashkey(addr, port, HASH1, 0) % M
    d = lookup[ihash]
    if d is None:
        return None
    if avail[d]:
        return d
    for offset in range(M):
        roffset = (offset + ihash) % M
        h = hashkey(addr, port, HASH1, roffset) % M
        d = lookup[h]
        if d is None:
            break
        if avail[d]:
            return d
    return None


def ip(s):
    a, b, c, d = (int(x) for x in s.split("."))
    return a << 24 | b << 16 | c << 8 | d


def name(i):
    return "-" if i is None else chr(ord("A") + i)


def main():
    self_check()
    print("hsiphash_u32(0x0a000151, hash1) = 0x%08x" % hsiphash_u32(ip("10.0.1.1") + 80, HASH1))
    print("hsiphash_u32(0x0a000151, hash2) = 0x%08x" % hsiphash_u32(ip("10.0.1.1") + 80, HASH2))
    # The tests' Dests: 10.0.1.1:80, 10.0.1.2:80, ... named A, B, ... in list order.
    dests = [(ip("10.0.1.%d" % (i + 1)), 80, 1) for i in range(3)]
    for i, (a, p, _) in enumerate(dests):
        print("%s offset %d skip %d" % (name(i), hashkey(a, p, HASH1, 0) % M,
                                       hashkey(a, p, HASH2, 0) % (M - 1) + 1))
    lookup = build(dests)
    print("table[0:32] =", "".join(name(x) for x in lookup[:32]))
    print("counts =", [lookup.count(i) for i in range(3)])
    clients = ["10.0.0.1", "10.0.0.2", "192.168.1.100", "172.16.5.9", "1.2.3.4"]
    avail = [True, True, True]
    for c in clients:
        print("%s -> bucket %d %s" % (c, hashkey(ip(c), 0, HASH1, 0) % M,
                                     name(get(lookup, avail, ip(c), 0))))
    for port in (1024, 40000):
        print("10.0.0.1:%d (mh-port) -> %s" % (port, name(get(lookup, avail, ip("10.0.0.1"), port))))
    # B quiesced (weight 0, last_weight kept: the same table).
    avail = [True, False, True]
    print("B quiesced, mh-fallback:",
          " ".join("%s->%s" % (c, name(get_fallback(lookup, avail, ip(c), 0))) for c in clients))
    # Weights 3, 1, 2.
    wdests = [(a, p, w) for (a, p, _), w in zip(dests, (3, 1, 2))]
    wl = build(wdests)
    print("weights 3,1,2: table[0:32] =", "".join(name(x) for x in wl[:32]),
          "counts =", [wl.count(i) for i in range(3)])


if __name__ == "__main__":
    main()
