#!/usr/bin/env python3
"""Machine calibration: the system's native libsodium (C), called through ctypes, on the
operations of docs/performance.md. Prints `BENCH|key|value|unit|what` lines like the Rust
benchmarks. ctypes adds about a microsecond per call, so the cheapest line (XChaCha20 1 KiB)
reads low; the others are dominated by the C code. Same method: 5 rounds, median.

usage: python3 bench/crypto/libsodium_ref.py [--quick]
"""
import ctypes
import ctypes.util
import statistics
import sys
import time

ROUND = 0.2 if "--quick" in sys.argv else 1.0
ROUNDS = 5

name = ctypes.util.find_library("sodium") or "libsodium.so.23"
s = ctypes.CDLL(name)
if s.sodium_init() < 0:
    sys.exit("sodium_init failed")
s.sodium_version_string.restype = ctypes.c_char_p
version = s.sodium_version_string().decode()
print(f"# native libsodium {version} via ctypes")


def rate(fn):
    batch = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        if time.perf_counter() - t0 >= 0.002:
            break
        batch *= 2

    def one():
        t0 = time.perf_counter()
        n = 0
        while True:
            for _ in range(batch):
                fn()
            n += batch
            dt = time.perf_counter() - t0
            if dt >= ROUND:
                return n / dt

    one()
    return statistics.median(one() for _ in range(ROUNDS))


def out(key, value, unit, what):
    print(f"BENCH|{key}|{value:.3f}|{unit}|{what}", flush=True)


buf = ctypes.create_string_buffer
kib = buf(b"\x01" * 1024, 1024)
mib = buf(b"\x02" * (1 << 20), 1 << 20)
pk, sk = buf(32), buf(64)
s.crypto_sign_keypair(pk, sk)
sig = buf(64)
siglen = ctypes.c_ulonglong()
s.crypto_sign_detached(sig, ctypes.byref(siglen), kib, ctypes.c_ulonglong(1024), sk)
if s.crypto_sign_verify_detached(sig, kib, ctypes.c_ulonglong(1024), pk) != 0:
    sys.exit("verify failed")
out("sign_1k", rate(lambda: s.crypto_sign_detached(sig, None, kib, ctypes.c_ulonglong(1024), sk)),
    "ops/s", "libsodium crypto_sign_detached, 1 KiB")
out("verify_1k", rate(lambda: s.crypto_sign_verify_detached(sig, kib, ctypes.c_ulonglong(1024), pk)),
    "ops/s", "libsodium crypto_sign_verify_detached, 1 KiB")

xpk, xsk, q = buf(32), buf(32), buf(32)
s.crypto_box_keypair(xpk, xsk)
out("x25519", rate(lambda: s.crypto_scalarmult(q, xsk, xpk)), "ops/s", "libsodium crypto_scalarmult")

sealed = buf(1024 + 48)
s.crypto_box_seal(sealed, kib, ctypes.c_ulonglong(1024), xpk)
opened = buf(1024)
if s.crypto_box_seal_open(opened, sealed, ctypes.c_ulonglong(1024 + 48), xpk, xsk) != 0:
    sys.exit("seal_open failed")
out("box_seal_1k", rate(lambda: s.crypto_box_seal(sealed, kib, ctypes.c_ulonglong(1024), xpk)),
    "ops/s", "libsodium crypto_box_seal, 1 KiB")
out("box_seal_open_1k",
    rate(lambda: s.crypto_box_seal_open(opened, sealed, ctypes.c_ulonglong(1024 + 48), xpk, xsk)),
    "ops/s", "libsodium crypto_box_seal_open, 1 KiB")

key, nonce = buf(b"\x03" * 32, 32), buf(b"\x04" * 24, 24)
c1k, cmib = buf(1024 + 16), buf((1 << 20) + 16)
clen = ctypes.c_ulonglong()
enc = s.crypto_aead_xchacha20poly1305_ietf_encrypt
out("xchacha_1k",
    rate(lambda: enc(c1k, ctypes.byref(clen), kib, ctypes.c_ulonglong(1024), None,
                     ctypes.c_ulonglong(0), None, nonce, key)),
    "ops/s", "libsodium xchacha20poly1305_ietf_encrypt, 1 KiB")
out("xchacha_1m",
    rate(lambda: enc(cmib, ctypes.byref(clen), mib, ctypes.c_ulonglong(1 << 20), None,
                     ctypes.c_ulonglong(0), None, nonce, key)) * (1 << 20) / 1e6,
    "MB/s", "libsodium xchacha20poly1305_ietf_encrypt, 1 MiB")
h = buf(32)
out("blake2b_1m",
    rate(lambda: s.crypto_generichash(h, ctypes.c_size_t(32), mib, ctypes.c_ulonglong(1 << 20),
                                      None, ctypes.c_size_t(0))) * (1 << 20) / 1e6,
    "MB/s", "libsodium crypto_generichash BLAKE2b-256, 1 MiB")

pw, salt, dk = b"correct horse", buf(16), buf(32)
times = []
for _ in range(1 + (2 if "--quick" in sys.argv else 5)):
    t0 = time.perf_counter()
    r = s.crypto_pwhash(dk, ctypes.c_ulonglong(32), pw, ctypes.c_ulonglong(len(pw)), salt,
                        ctypes.c_ulonglong(3), ctypes.c_size_t(64 << 20), ctypes.c_int(2))
    times.append(time.perf_counter() - t0)
    if r != 0:
        sys.exit("pwhash failed")
out("argon2id_unlock", statistics.median(times[1:]), "s",
    "libsodium crypto_pwhash Argon2id 64 MiB, opslimit 3")
