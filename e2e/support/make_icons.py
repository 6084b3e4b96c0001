#!/usr/bin/env python3
"""Writes public/icons/icon-192.png and icon-512.png (an eclipse: a light disc partly covered by
a dark one) with a tiny zlib PNG writer, so the icons are reproducible without image tools.
Run from the repository root: python3 e2e/support/make_icons.py"""
import struct
import zlib


def png(width, height, rows):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def icon(size):
    bg, light, dark = (27, 29, 43), (240, 196, 108), (27, 29, 43)
    r = size * 0.30
    cx, cy = size * 0.5, size * 0.5
    sx, sy = cx + r * 0.45, cy - r * 0.30
    rows = []
    for y in range(size):
        row = []
        for x in range(size):
            px, py = x + 0.5, y + 0.5
            c = bg
            if (px - cx) ** 2 + (py - cy) ** 2 <= r * r:
                c = light
                if (px - sx) ** 2 + (py - sy) ** 2 <= (r * 0.92) ** 2:
                    c = dark
            row.extend(c)
        rows.append(row)
    return png(size, size, rows)


for s in (192, 512):
    with open(f"public/icons/icon-{s}.png", "wb") as f:
        f.write(icon(s))
