#!/usr/bin/env python3
"""Writes the reference files for the Codecs tests into Tests/Fixtures/codecs/, using only the Python
standard library (zlib, gzip, zipfile, struct), so the Swift decoders are checked against an independent
encoder. Deterministic: running it again rewrites identical files.

PNG pixels follow formulas that Tests/CodecsTests/FixtureTests.swift repeats:
  sample(x, y, c, depth)  = (x*7 + y*13 + c*29 + x*y*3) % 2**depth            (depth <= 8)
                           (x*2039 + y*4093 + c*15013 + x*y*97) % 65536      (depth 16)
  index(x, y, n)          = (x*3 + y*5 + x*y) % n                             (palette images, n entries)
  palette[i]              = ((i*37) % 256, (i*91 + 17) % 256, (i*53 + 101) % 256)
  alpha[i] (tRNS)         = (i*71 + 5) % 256 for the first len(tRNS) entries
Row y of a non-interlaced image uses filter type y % 5 (interlaced: the row index within its pass), so all
five filters are exercised.

Usage: python3 Scripts/make_codec_fixtures.py
"""
import gzip
import io
import os
import struct
import zipfile
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "codecs")


def sample(x, y, c, depth):
    if depth == 16:
        return (x * 2039 + y * 4093 + c * 15013 + x * y * 97) % 65536
    return (x * 7 + y * 13 + c * 29 + x * y * 3) % (1 << depth)


def index(x, y, n):
    return (x * 3 + y * 5 + x * y) % n


def palette_rgb(i):
    return ((i * 37) % 256, (i * 91 + 17) % 256, (i * 53 + 101) % 256)


CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_row(values, depth):
    """Packs sample values (already in range) MSB-first at `depth` bits."""
    if depth == 8:
        return bytes(values)
    if depth == 16:
        return b"".join(struct.pack(">H", v) for v in values)
    out, acc, nbits = bytearray(), 0, 0
    for v in values:
        acc = (acc << depth) | v
        nbits += depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(ftype, row, prior, bpp):
    out = bytearray(len(row))
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i] if prior is not None else 0
        c = prior[i - bpp] if prior is not None and i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
        out[i] = (x - pred) & 0xFF
    return bytes([ftype]) + bytes(out)


def pixel_values(ctype, depth, x, y, n_palette):
    if ctype == 3:
        return [index(x, y, n_palette)]
    return [sample(x, y, c, depth) for c in range(CHANNELS[ctype])]


def scanlines(ctype, depth, xs, ys, n_palette):
    """Filtered scanlines for the pixels at columns xs, rows ys (one pass or the whole image)."""
    bpp = max(1, CHANNELS[ctype] * depth // 8)
    out, prior = bytearray(), None
    for r, y in enumerate(ys):
        values = []
        for x in xs:
            values += pixel_values(ctype, depth, x, y, n_palette)
        row = pack_row(values, depth)
        out += filter_row(r % 5, row, prior, bpp)
        prior = row
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png(path, w, h, ctype, depth, interlace=False, n_palette=0, trns=None, idat_split=None, level=6):
    raw = bytearray()
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            xs, ys = list(range(x0, w, dx)), list(range(y0, h, dy))
            if xs and ys:
                raw += scanlines(ctype, depth, xs, ys, n_palette)
    else:
        raw = scanlines(ctype, depth, list(range(w)), list(range(h)), n_palette)
    z = zlib.compress(bytes(raw), level)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 1 if interlace else 0))
    out += chunk(b"tEXt", b"Comment\x00made by make_codec_fixtures.py")
    if ctype == 3:
        out += chunk(b"PLTE", b"".join(bytes(palette_rgb(i)) for i in range(n_palette)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    step = idat_split or len(z)
    for i in range(0, len(z), step):
        out += chunk(b"IDAT", z[i:i + step])
    out += chunk(b"IEND", b"")
    with open(os.path.join(OUT, path), "wb") as f:
        f.write(out)


def zlib_source():
    """~48 KiB of mixed text-like and binary data with long- and short-range repeats."""
    words = [b"portrait", b"tri-plane", b"camera", b"render", b"neural", b"density", b"the", b"a", b"of", b"\n"]
    state, out = 12345, bytearray()
    while len(out) < 32768:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out += words[state % len(words)] + b" "
    for i in range(16384):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((state >> 16) & 0xFF if i % 3 else i & 0xFF)
    return bytes(out)


def main():
    os.makedirs(OUT, exist_ok=True)
    png("grey1.png", 13, 7, 0, 1)
    png("grey2.png", 11, 6, 0, 2)
    png("grey4.png", 9, 5, 0, 4)
    png("grey8.png", 17, 11, 0, 8)
    png("grey16.png", 10, 9, 0, 16)
    png("grey8_trns.png", 8, 8, 0, 8, trns=struct.pack(">H", sample(3, 2, 0, 8)))
    png("greyalpha8.png", 12, 7, 4, 8)
    png("greyalpha16.png", 7, 6, 4, 16)
    png("rgb8.png", 15, 10, 2, 8)
    png("rgb16.png", 9, 8, 2, 16)
    png("rgba8.png", 16, 9, 6, 8)
    png("rgba16.png", 6, 5, 6, 16)
    png("palette1.png", 19, 5, 3, 1, n_palette=2)
    png("palette2.png", 10, 6, 3, 2, n_palette=4)
    png("palette4.png", 13, 9, 3, 4, n_palette=11, trns=bytes((i * 71 + 5) % 256 for i in range(7)))
    png("palette8.png", 20, 12, 3, 8, n_palette=200)
    png("interlaced_rgb8.png", 23, 19, 2, 8, interlace=True)
    png("interlaced_grey16.png", 9, 11, 0, 16, interlace=True)
    png("interlaced_palette4.png", 13, 10, 3, 4, interlace=True, n_palette=16)
    png("interlaced_tiny.png", 3, 2, 6, 8, interlace=True)
    png("multi_idat.png", 31, 17, 2, 8, idat_split=37)

    src = zlib_source()
    with open(os.path.join(OUT, "zlib_source.bin"), "wb") as f:
        f.write(src)
    for level in (0, 1, 6, 9):
        with open(os.path.join(OUT, "zlib_level%d.zlib" % level), "wb") as f:
            f.write(zlib.compress(src, level))
    co = zlib.compressobj(6, zlib.DEFLATED, -15)
    with open(os.path.join(OUT, "raw_level6.deflate"), "wb") as f:
        f.write(co.compress(src) + co.flush())

    text = b"".join(b"%d\tword%d</w>\n" % (i, i * 7919 % 100003) for i in range(3000))
    with open(os.path.join(OUT, "vocab.txt"), "wb") as f:
        f.write(text)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="vocab.txt", mode="wb", fileobj=buf, mtime=0) as g:
        g.write(text)
    with open(os.path.join(OUT, "vocab.txt.gz"), "wb") as f:
        f.write(buf.getvalue())
    with open(os.path.join(OUT, "two_members.gz"), "wb") as f:
        f.write(gzip.compress(b"first member\n", mtime=0) + gzip.compress(b"second member\n", mtime=0))

    # A dataset zip in the layout EG3D's dataset_tool.py writes (images plus dataset.json), with deflated,
    # stored and directory entries.
    with zipfile.ZipFile(os.path.join(OUT, "dataset.zip"), "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("00000/", date_time=(2020, 1, 1, 0, 0, 0)), b"")
        for name in ("grey8.png", "rgb8.png", "palette4.png"):
            with open(os.path.join(OUT, name), "rb") as f:
                info = zipfile.ZipInfo("00000/img_" + name, date_time=(2020, 1, 1, 0, 0, 0))
                z.writestr(info, f.read(), compress_type=zipfile.ZIP_STORED)
        info = zipfile.ZipInfo("dataset.json", date_time=(2020, 1, 1, 0, 0, 0))
        labels = ",".join('["00000/img_%s", [%s]]' % (n, ", ".join(str(i * 0.5) for i in range(25)))
                          for n in ("grey8.png", "rgb8.png", "palette4.png"))
        z.writestr(info, ('{"labels": [%s]}' % labels).encode(), compress_type=zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo("source.bin", date_time=(2020, 1, 1, 0, 0, 0))
        z.writestr(info, src, compress_type=zipfile.ZIP_DEFLATED)


if __name__ == "__main__":
    main()
