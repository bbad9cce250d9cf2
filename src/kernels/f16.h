/* IEEE half precision (binary16) <-> float, exactly as F16C's
 * VCVTPH2PS / VCVTPS2PH (round to nearest even) and NEON's FCVT do: the
 * gallery's half-precision scan matrix is written and read with these in
 * portable code. libc only. */
#ifndef FV_KERNEL_F16_H
#define FV_KERNEL_F16_H

#include <stdint.h>
#include <string.h>

static inline float
fv_f16_to_f32 (uint16_t h)
{
  const uint32_t sign = (uint32_t) (h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  float f;

  if (exp == 0x1f) {            /* inf, nan */
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp != 0) {        /* normal */
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {        /* zero */
    bits = sign;
  } else {                      /* subnormal: normalise */
    exp = 113;
    while (!(man & 0x400)) {
      man <<= 1;
      exp--;
    }
    bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
  }
  memcpy (&f, &bits, sizeof f);
  return f;
}

static inline uint16_t
fv_f32_to_f16 (float f)
{
  uint32_t bits, sign, exp, man, half, rest;

  memcpy (&bits, &f, sizeof bits);
  sign = (bits >> 16) & 0x8000;
  exp = (bits >> 23) & 0xff;
  man = bits & 0x7fffff;
  if (exp == 0xff)              /* inf, nan (quiet) */
    return (uint16_t) (sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
  if (exp > 142)                /* overflows: inf */
    return (uint16_t) (sign | 0x7c00);
  if (exp < 113) {              /* subnormal or zero in half */
    if (exp < 102)
      return (uint16_t) sign;
    man |= 0x800000;
    rest = man & ((1u << (126 - exp)) - 1);
    half = man >> (126 - exp);
    /* round to nearest even */
    if (rest > (1u << (125 - exp))
        || (rest == (1u << (125 - exp)) && (half & 1)))
      half++;
    return (uint16_t) (sign | half);
  }
  half = ((exp - 112) << 10) | (man >> 13);
  rest = man & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
    half++;                     /* may carry into the exponent: correct */
  return (uint16_t) (sign | half);
}

#endif /* FV_KERNEL_F16_H */
