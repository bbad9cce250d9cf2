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
version 3), at the slots named in src/nn/tflite/fv-tflite-schema.h. Spatial
dimensions (1 and 2 of 4-D tensors) are kept.
"""
import os
import re
import struct
import sys


def read_slots():
    """FV_TFLITE_* slot numbers of fv-tflite-schema.h, without the prefix."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, '..', '..', 'src', 'nn', 'tflite',
                        'fv-tflite-schema.h')
    with open(path) as f:
        return {m.group(1): int(m.group(2)) for m in
                re.finditer(r'^\s*FV_TFLITE_(\w+)\s*=\s*(\d+),', f.read(),
                            re.M)}


S = read_slots()

# Options fields per builtin code: (field id, size in bytes or 'ivec').
CONV_2D = ['PADDING', 'STRIDE_W', 'STRIDE_H', 'FUSED_ACTIVATION',
           'DILATION_W', 'DILATION_H']
DEPTHWISE = ['PADDING', 'STRIDE_W', 'STRIDE_H', 'DEPTH_MULTIPLIER',
             'FUSED_ACTIVATION', 'DILATION_W', 'DILATION_H']
POOL_2D = ['PADDING', 'STRIDE_W', 'STRIDE_H', 'FILTER_W', 'FILTER_H',
           'FUSED_ACTIVATION']
FULLY_CONNECTED = ['FUSED_ACTIVATION', 'WEIGHTS_FORMAT', 'KEEP_NUM_DIMS']
BYTE_FIELDS = ('PADDING', 'FUSED_ACTIVATION', 'WEIGHTS_FORMAT',
               'KEEP_NUM_DIMS')


def options(table, names):
    return [(S[table + '_' + n], 1 if n in BYTE_FIELDS else 4)
            for n in names]


ARITHMETIC = [(S['ARITHMETIC_FUSED_ACTIVATION'], 1)]
OPTIONS = {
    0: ARITHMETIC,                                      # ADD
    3: options('CONV_2D', CONV_2D),
    4: options('DEPTHWISE', DEPTHWISE),
    9: options('FULLY_CONNECTED', FULLY_CONNECTED),
    17: options('POOL_2D', POOL_2D),                    # MAX_POOL_2D
    18: ARITHMETIC, 41: ARITHMETIC, 42: ARITHMETIC,     # MUL, SUB, DIV
    22: [(S['RESHAPE_NEW_SHAPE'], 'ivec')],             # RESHAPE
    74: [(S['REDUCER_KEEP_DIMS'], 1)],                  # SUM
    82: [(S['REDUCER_KEEP_DIMS'], 1)],                  # REDUCE_MAX
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
    for oc in r.tables(root, S['MODEL_OPERATOR_CODES']):
        dep = r.scalar(oc, S['OPERATOR_CODE_DEPRECATED_BUILTIN_CODE'], 1)
        codes.append((max(dep, r.scalar(oc, S['OPERATOR_CODE_BUILTIN_CODE'], 4)),
                      r.scalar(oc, S['OPERATOR_CODE_VERSION'], 4, default=1)))
    sg = r.tables(root, S['MODEL_SUBGRAPHS'])[0]
    buffers = r.tables(root, S['MODEL_BUFFERS'])
    tensors = []
    for t in r.tables(sg, S['SUBGRAPH_TENSORS']):
        shape = r.ints(t, S['TENSOR_SHAPE']) or []
        ttype = r.scalar(t, S['TENSOR_TYPE'], 1)
        buf = r.scalar(t, S['TENSOR_BUFFER'], 4, signed=False)
        name = r.bytes_(t, S['TENSOR_NAME']) or b''
        data = None
        if buf:
            data = r.bytes_(buffers[buf], S['BUFFER_DATA'])
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
    for o in r.tables(sg, S['SUBGRAPH_OPERATORS']):
        oci = r.scalar(o, S['OPERATOR_OPCODE_INDEX'], 4, signed=False)
        builtin = codes[oci][0]
        opt = r.ref(o, S['OPERATOR_BUILTIN_OPTIONS'])
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
        ops.append((oci, r.ints(o, S['OPERATOR_INPUTS']) or [],
                    r.ints(o, S['OPERATOR_OUTPUTS']) or [],
                    r.scalar(o, S['OPERATOR_BUILTIN_OPTIONS_TYPE'], 1,
                             signed=False), fields,
                    opt is not None))

    b = Builder()
    m_codes, m_subgraphs, m_buffers = (S['MODEL_OPERATOR_CODES'],
                                       S['MODEL_SUBGRAPHS'],
                                       S['MODEL_BUFFERS'])
    rt, rs = b.table([(S['MODEL_VERSION'], 'i32', 3), (m_codes, 'ref', 0),
                      (m_subgraphs, 'ref', 0), (m_buffers, 'ref', 0)])
    struct.pack_into('<I', b.d, 0, rt)
    ocv = b.offsets(len(codes))
    b.point(rs[m_codes], ocv)
    for k, (code, version) in enumerate(codes):
        t, _ = b.table([
            (S['OPERATOR_CODE_DEPRECATED_BUILTIN_CODE'], 'u8', min(code, 127)),
            (S['OPERATOR_CODE_VERSION'], 'i32', version),
            (S['OPERATOR_CODE_BUILTIN_CODE'], 'i32', code)])
        b.point(ocv + 4 + 4 * k, t)
    sgv = b.offsets(1)
    b.point(rs[m_subgraphs], sgv)
    sg_tensors, sg_inputs, sg_outputs, sg_ops = (
        S['SUBGRAPH_TENSORS'], S['SUBGRAPH_INPUTS'], S['SUBGRAPH_OUTPUTS'],
        S['SUBGRAPH_OPERATORS'])
    st, ss = b.table([(sg_tensors, 'ref', 0), (sg_inputs, 'ref', 0),
                      (sg_outputs, 'ref', 0), (sg_ops, 'ref', 0)])
    b.point(sgv + 4, st)
    b.point(ss[sg_inputs], b.ivec(r.ints(sg, sg_inputs)))
    b.point(ss[sg_outputs], b.ivec(r.ints(sg, sg_outputs)))
    tv = b.offsets(len(tensors))
    b.point(ss[sg_tensors], tv)
    buf_data = [None]
    for k, (shape, ttype, name, data) in enumerate(tensors):
        bi = 0
        if data:
            bi = len(buf_data)
            buf_data.append(data)
        t, ts = b.table([(S['TENSOR_SHAPE'], 'ref', 0),
                         (S['TENSOR_TYPE'], 'u8', ttype),
                         (S['TENSOR_BUFFER'], 'i32', bi),
                         (S['TENSOR_NAME'], 'ref', 0)])
        b.point(tv + 4 + 4 * k, t)
        b.point(ts[S['TENSOR_SHAPE']], b.ivec(shape))
        b.point(ts[S['TENSOR_NAME']],
                b.vector(bytes(name) + b'\0', len(name)))
    opv = b.offsets(len(ops))
    b.point(ss[sg_ops], opv)
    o_inputs, o_outputs, o_options = (S['OPERATOR_INPUTS'],
                                      S['OPERATOR_OUTPUTS'],
                                      S['OPERATOR_BUILTIN_OPTIONS'])
    for k, (oci, ins, outs, otype, fields, has_opt) in enumerate(ops):
        f = [(S['OPERATOR_OPCODE_INDEX'], 'i32', oci), (o_inputs, 'ref', 0),
             (o_outputs, 'ref', 0)]
        if has_opt:
            f += [(S['OPERATOR_BUILTIN_OPTIONS_TYPE'], 'u8', otype),
                  (o_options, 'ref', 0)]
        t, ts = b.table(f)
        b.point(opv + 4 + 4 * k, t)
        b.point(ts[o_inputs], b.ivec(ins))
        b.point(ts[o_outputs], b.ivec(outs))
        if has_opt:
            ot, os_ = b.table([(fid, 'ref' if kind == 'ivec' else kind,
                                0 if kind == 'ivec' else v)
                               for fid, kind, v in fields])
            b.point(ts[o_options], ot)
            for fid, kind, v in fields:
                if kind == 'ivec':
                    b.point(os_[fid], b.ivec(v))
    bv = b.offsets(len(buf_data))
    b.point(rs[m_buffers], bv)
    for k, data in enumerate(buf_data):
        if data is None:
            t, _ = b.table([])
        else:
            t, ts = b.table([(S['BUFFER_DATA'], 'ref', 0)])
            b.point(ts[S['BUFFER_DATA']], b.vector(bytes(data), len(data)))
        b.point(bv + 4 + 4 * k, t)
    with open(dst, 'wb') as f:
        f.write(b.d)


if __name__ == '__main__':
    main()
