#!/usr/bin/env python3
"""make-mini-model.py SRC.tflite OUT.tflite [DIVISOR]

Writes a small copy of a TFLite model for the fuzz seed corpus: the same
operators, options and graph, with every channel count of 16 or more
divided by DIVISOR (default 16) and the constants cut to their new sizes
(the first values of each original constant). MobileFaceNet (5 MB) becomes
about 30 KB that still loads, plans and runs, so that libFuzzer mutates a
whole model whose paths (depthwise convolutions, the PReLU-by-ABS spelling,
residual adds, the 7x7 global depthwise, RESHAPE) the MTCNN seeds lack.

Only the fields that src/nn/tflite/fv-tflite.c reads are written (schema
version 3). Spatial dimensions (1 and 2 of 4-D tensors) are kept.
"""
import struct
import sys

# Options fields per builtin code: (field id, size in bytes or 'ivec').
OPTIONS = {
    0: [(0, 1)],                                        # ADD
    3: [(0, 1), (1, 4), (2, 4), (3, 1), (4, 4), (5, 4)],  # CONV_2D
    4: [(0, 1), (1, 4), (2, 4), (3, 4), (4, 1), (5, 4), (6, 4)],  # DEPTHWISE
    9: [(0, 1), (1, 1), (2, 1)],                        # FULLY_CONNECTED
    17: [(0, 1), (1, 4), (2, 4), (3, 4), (4, 4), (5, 1)],  # MAX_POOL_2D
    18: [(0, 1)], 41: [(0, 1)], 42: [(0, 1)],           # MUL, SUB, DIV
    22: [(0, 'ivec')],                                  # RESHAPE
    74: [(0, 1)], 82: [(0, 1)],                         # SUM, REDUCE_MAX
}


class Reader:
    def __init__(self, d):
        self.d = d

    def u8(self, p):
        return self.d[p]

    def u16(self, p):
        return struct.unpack_from('<H', self.d, p)[0]

    def u32(self, p):
        return struct.unpack_from('<I', self.d, p)[0]

    def i32(self, p):
        return struct.unpack_from('<i', self.d, p)[0]

    def field(self, t, i):
        vt = t - self.i32(t)
        if 4 + 2 * i >= self.u16(vt):
            return None
        off = self.u16(vt + 4 + 2 * i)
        return t + off if off else None

    def ref(self, t, i):
        f = self.field(t, i)
        return f + self.u32(f) if f is not None else None

    def tables(self, t, i):
        v = self.ref(t, i)
        if v is None:
            return []
        return [v + 4 + 4 * k + self.u32(v + 4 + 4 * k)
                for k in range(self.u32(v))]

    def ints(self, t, i):
        v = self.ref(t, i)
        if v is None:
            return None
        return [self.i32(v + 4 + 4 * k) for k in range(self.u32(v))]

    def bytes_(self, t, i):
        v = self.ref(t, i)
        return None if v is None else self.d[v + 4:v + 4 + self.u32(v)]

    def scalar(self, t, i, size, signed=True, default=0):
        f = self.field(t, i)
        if f is None:
            return default
        fmt = {1: 'b', 4: 'i'}[size] if signed else {1: 'B', 4: 'I'}[size]
        return struct.unpack_from('<' + fmt, self.d, f)[0]


class Builder:
    """Forward FlatBuffer writer: a table first, what it refers to after
    (uoffsets point forward), each scalar in its own 8-byte slot."""

    def __init__(self):
        self.d = bytearray(8)
        self.d[4:8] = b'TFL3'

    def align(self, a):
        while len(self.d) % a:
            self.d.append(0)

    def table(self, fields):
        """fields: list of (id, kind, value); kind 'u8', 'i32', 'ref'.
        Returns (table position, {id: slot position})."""
        max_id = max([f[0] for f in fields], default=-1)
        vt_size = 4 + 2 * (max_id + 1)
        t_size = 8 + 8 * len(fields)
        self.align(8)
        vt = len(self.d)
        self.d += bytes((vt_size + 7) & ~7)
        t = len(self.d)
        self.d += bytes(t_size)
        struct.pack_into('<HH', self.d, vt, vt_size, t_size)
        struct.pack_into('<i', self.d, t, t - vt)
        slots = {}
        for k, (fid, kind, value) in enumerate(fields):
            slot = 8 + 8 * k
            struct.pack_into('<H', self.d, vt + 4 + 2 * fid, slot)
            slots[fid] = t + slot
            if kind == 'u8':
                struct.pack_into('<B', self.d, t + slot, value & 0xff)
            elif kind == 'i32':
                struct.pack_into('<i', self.d, t + slot, value)
        return t, slots

    def point(self, pos, target):
        struct.pack_into('<I', self.d, pos, target - pos)

    def vector(self, payload, n):
        self.align(4)
        v = len(self.d)
        self.d += struct.pack('<I', n) + payload
        self.align(4)
        return v

    def ivec(self, values):
        return self.vector(struct.pack('<%di' % len(values), *values),
                           len(values))

    def offsets(self, n):
        return self.vector(bytes(4 * n), n)


def shrink(dims, div, is_4d):
    out = []
    for k, v in enumerate(dims):
        if is_4d and k in (1, 2):
            out.append(v)
        else:
            out.append(max(1, v // div) if v >= 16 else v)
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    div = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    r = Reader(open(src, 'rb').read())
    root = r.u32(0)
    codes = []
    for oc in r.tables(root, 1):
        codes.append((max(r.scalar(oc, 0, 1), r.scalar(oc, 3, 4)),
                      r.scalar(oc, 2, 4, default=1)))
    sg = r.tables(root, 2)[0]
    buffers = r.tables(root, 4)
    tensors = []
    for t in r.tables(sg, 0):
        shape = r.ints(t, 0) or []
        ttype = r.scalar(t, 1, 1)
        buf = r.scalar(t, 2, 4, signed=False)
        name = r.bytes_(t, 3) or b''
        data = None
        if buf:
            data = r.bytes_(buffers[buf], 0)
        new_shape = shrink(shape, div, len(shape) == 4)
        if data:
            n = 1
            for v in new_shape:
                n *= v
            if ttype == 2:      # int32 shape/axis constants
                vals = list(struct.unpack('<%di' % (len(data) // 4), data))
                vals = [max(1, v // div) if v >= 16 else v for v in vals]
                data = struct.pack('<%di' % len(vals), *vals)
            else:
                data = data[:4 * n]
        tensors.append((new_shape, ttype, name, data))
    ops = []
    for o in r.tables(sg, 3):
        oci = r.scalar(o, 0, 4, signed=False)
        builtin = codes[oci][0]
        opt = r.ref(o, 4)
        fields = []
        if opt is not None:
            for fid, size in OPTIONS.get(builtin, []):
                if size == 'ivec':
                    v = r.ints(opt, fid)
                    if v is not None:
                        v = [max(1, x // div) if x >= 16 else x for x in v]
                        fields.append((fid, 'ivec', v))
                elif r.field(opt, fid) is not None:
                    fields.append((fid, 'u8' if size == 1 else 'i32',
                                   r.scalar(opt, fid, size)))
        ops.append((oci, r.ints(o, 1) or [], r.ints(o, 2) or [],
                    r.scalar(o, 3, 1, signed=False), fields,
                    opt is not None))

    b = Builder()
    rt, rs = b.table([(0, 'i32', 3), (1, 'ref', 0), (2, 'ref', 0),
                      (4, 'ref', 0)])
    struct.pack_into('<I', b.d, 0, rt)
    ocv = b.offsets(len(codes))
    b.point(rs[1], ocv)
    for k, (code, version) in enumerate(codes):
        t, _ = b.table([(0, 'u8', min(code, 127)), (2, 'i32', version),
                        (3, 'i32', code)])
        b.point(ocv + 4 + 4 * k, t)
    sgv = b.offsets(1)
    b.point(rs[2], sgv)
    st, ss = b.table([(0, 'ref', 0), (1, 'ref', 0), (2, 'ref', 0),
                      (3, 'ref', 0)])
    b.point(sgv + 4, st)
    b.point(ss[1], b.ivec(r.ints(sg, 1)))
    b.point(ss[2], b.ivec(r.ints(sg, 2)))
    tv = b.offsets(len(tensors))
    b.point(ss[0], tv)
    buf_data = [None]
    for k, (shape, ttype, name, data) in enumerate(tensors):
        bi = 0
        if data:
            bi = len(buf_data)
            buf_data.append(data)
        t, ts = b.table([(0, 'ref', 0), (1, 'u8', ttype), (2, 'i32', bi),
                         (3, 'ref', 0)])
        b.point(tv + 4 + 4 * k, t)
        b.point(ts[0], b.ivec(shape))
        b.point(ts[3], b.vector(bytes(name) + b'\0', len(name)))
    opv = b.offsets(len(ops))
    b.point(ss[3], opv)
    for k, (oci, ins, outs, otype, fields, has_opt) in enumerate(ops):
        f = [(0, 'i32', oci), (1, 'ref', 0), (2, 'ref', 0)]
        if has_opt:
            f += [(3, 'u8', otype), (4, 'ref', 0)]
        t, ts = b.table(f)
        b.point(opv + 4 + 4 * k, t)
        b.point(ts[1], b.ivec(ins))
        b.point(ts[2], b.ivec(outs))
        if has_opt:
            ot, os_ = b.table([(fid, 'ref' if kind == 'ivec' else kind,
                                0 if kind == 'ivec' else v)
                               for fid, kind, v in fields])
            b.point(ts[4], ot)
            for fid, kind, v in fields:
                if kind == 'ivec':
                    b.point(os_[fid], b.ivec(v))
    bv = b.offsets(len(buf_data))
    b.point(rs[4], bv)
    for k, data in enumerate(buf_data):
        if data is None:
            t, _ = b.table([])
        else:
            t, ts = b.table([(0, 'ref', 0)])
            b.point(ts[0], b.vector(bytes(data), len(data)))
        b.point(bv + 4 + 4 * k, t)
    with open(dst, 'wb') as f:
        f.write(b.d)


if __name__ == '__main__':
    main()
