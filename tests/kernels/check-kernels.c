/* check-kernels: compares every SIMD kernel in the dispatch table that
 * this CPU can run with the scalar kernel, over shape sweeps.
 *
 * It needs only libc (and the kernel sources), so that it can be built
 * statically for another architecture and run under qemu-user
 * (tests/arm/run.sh); meson also builds it for the host (test
 * "kernels-harness"), where it checks the x86 levels. It is the one
 * kernel test: the tables it walks come from src/kernels/fv-ukernels.inc,
 * and the CPU check is the library's (src/core/fv-cpu.c).
 *
 * What is checked, for each family and table level:
 *  - every output element equals the scalar one within RTOL times the
 *    same sum formed with absolute values (the bound of rounding error
 *    for a sum, so cancellation does not make the test flaky);
 *  - nothing outside the output is written: output buffers are filled
 *    with a NaN pattern (gaps between rows of a strided output and the
 *    bytes around it must keep it);
 *  - nothing is read past the end of any buffer: in the "tight" layout
 *    every buffer ends at an inaccessible page (a read past it crashes;
 *    the crash handler names the case);
 *  - unaligned buffers (one float past a 64-byte boundary);
 *  - row ranges split as threads split them, including empty ranges.
 *
 * Usage: check-kernels [-v] [--bench]. Exit status 0 when every case
 * passed, 1 on a mismatch, 2 on a crash.
 *
 * --bench checks nothing: like dav1d's checkasm --bench, it times every
 * kernel family on typical MobileFaceNet/MTCNN shapes on each level this
 * CPU can run and prints the median ns per call (this thread's CPU time,
 * CLOCK_THREAD_CPUTIME_ID, so that a busy machine does not count), the
 * GFLOP/s and the speed-up over the scalar kernel (meson benchmark
 * "kernels"). */
#include "kernels/fv-kernels.h"
#include "kernels/f16.h"
#include "core/fv-cpu.h"

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define RTOL 2e-6f

static const char *const isa_names[] = { "scalar", "avx2", "avx512", "neon" };

static int verbose;
static char current_case[512];

static const char *
isa_name (int isa)
{
  return isa < (int) (sizeof isa_names / sizeof isa_names[0])
      ? isa_names[isa] : "?";
}

/* ---- crash handler ----------------------------------------------------- */

static void
on_crash (int sig)
{
  static const char msg[] = "\ncheck-kernels: CRASH (signal) in case: ";
  ssize_t unused;

  unused = write (2, msg, sizeof msg - 1);
  unused = write (2, current_case, strlen (current_case));
  unused = write (2, "\n", 1);
  (void) unused;
  (void) sig;
  _exit (2);
}

/* ---- random numbers ---------------------------------------------------- */

static uint32_t rng_state = 0x12345678u;

static uint32_t
rng_u32 (void)
{
  uint32_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return rng_state = x;
}

static size_t
rng_below (size_t n)
{
  return n ? rng_u32 () % n : 0;
}

/* Uniform in [-1, 1). */
static float
rng_float (void)
{
  return (float) (rng_u32 () >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

/* ---- guarded buffers --------------------------------------------------- */

enum
{
  LAYOUT_TIGHT,                 /* ends at an inaccessible page */
  LAYOUT_UNALIGNED,             /* starts 4 bytes past a 64-byte boundary */
  LAYOUT_ALIGNED,               /* starts at a 64-byte boundary */
  N_LAYOUTS
};

static const char *const layout_names[] = { "tight", "unaligned", "aligned" };

typedef struct
{
  unsigned char *map;
  size_t map_len;               /* readable part; a guard page follows */
  float *p;
  size_t n;
} Buf;

#define MAX_BUFS 32
static Buf bufs[MAX_BUFS];
static int n_bufs;
static size_t page_size;

static const uint32_t SENTINEL = 0x7fc0dead;    /* a quiet NaN */

static float *
buf_new (size_t n, int layout)
{
  Buf *b;
  size_t bytes = (n ? n : 1) * sizeof (float) + 128;
  size_t len = (bytes + page_size - 1) / page_size * page_size;

  if (n_bufs == MAX_BUFS) {
    fprintf (stderr, "check-kernels: too many buffers\n");
    exit (1);
  }
  b = &bufs[n_bufs++];
  b->map = mmap (NULL, len + page_size, PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (b->map == MAP_FAILED) {
    perror ("check-kernels: mmap");
    exit (1);
  }
  if (mprotect (b->map + len, page_size, PROT_NONE) != 0) {
    perror ("check-kernels: mprotect");
    exit (1);
  }
  b->map_len = len;
  b->n = n;
  for (size_t i = 0; i < len / 4; i++)
    memcpy (b->map + 4 * i, &SENTINEL, 4);
  switch (layout) {
    case LAYOUT_TIGHT:
      b->p = (float *) (b->map + len - n * sizeof (float));
      break;
    case LAYOUT_UNALIGNED:
      b->p = (float *) (b->map + 64 + 4);
      break;
    default:
      b->p = (float *) (b->map + 64);
      break;
  }
  return b->p;
}

static float *
buf_random (size_t n, int layout)
{
  float *p = buf_new (n, layout);
  for (size_t i = 0; i < n; i++)
    p[i] = rng_float ();
  return p;
}

static float *
buf_abs (const float *src, size_t n, int layout)
{
  float *p = buf_new (n, layout);
  for (size_t i = 0; i < n; i++)
    p[i] = fabsf (src[i]);
  return p;
}

static Buf *
buf_of (const float *p)
{
  for (int i = 0; i < n_bufs; i++)
    if (bufs[i].p == p)
      return &bufs[i];
  return NULL;
}

/* Whether the bytes of p's mapping outside [p, p + n) kept the sentinel. */
static int
buf_outside_intact (const float *p)
{
  const Buf *b = buf_of (p);
  const unsigned char *lo = (const unsigned char *) b->p;
  const unsigned char *hi = lo + b->n * sizeof (float);

  for (const unsigned char *q = b->map; q + 4 <= lo; q += 4)
    if (memcmp (q, &SENTINEL, 4) != 0)
      return 0;
  for (const unsigned char *q = hi; q + 4 <= b->map + b->map_len; q += 4)
    if (memcmp (q, &SENTINEL, 4) != 0)
      return 0;
  return 1;
}

static int
is_sentinel (const float *p)
{
  return memcmp (p, &SENTINEL, 4) == 0;
}

static void
bufs_free (void)
{
  for (int i = 0; i < n_bufs; i++)
    munmap (bufs[i].map, bufs[i].map_len + page_size);
  n_bufs = 0;
}

static size_t
round_up (size_t n, size_t q)
{
  return (n + q - 1) / q * q;
}

/* A copy of the n values of src, zero-padded to padded (PReLU slopes
 * padded to the kernel's channel or panel padding). */
static float *
buf_padded (const float *src, size_t n, size_t padded, int layout)
{
  float *p = buf_new (padded, layout);

  memset (p, 0, padded * sizeof (float));
  memcpy (p, src, n * sizeof (float));
  return p;
}

/* ---- results ----------------------------------------------------------- */

typedef struct
{
  const char *family;
  const char *kernel;
  int isa;
  unsigned cases, failed;
  double worst;                 /* largest |got - ref| / (RTOL * bound) */
} Stats;

static unsigned total_failed;

/* Compares n outputs; returns the number of bad elements. */
static size_t
compare (Stats * st, const float *got, const float *ref, const float *bound,
    size_t n, size_t *first_bad)
{
  size_t bad = 0;

  for (size_t i = 0; i < n; i++) {
    const double err = fabs ((double) got[i] - (double) ref[i]);
    const double tol = RTOL * (double) bound[i] + 1e-30;
    const double ratio = err / tol;
    if (!(err <= tol)) {        /* also catches NaN (an unwritten sentinel) */
      if (!bad)
        *first_bad = i;
      bad++;
    } else if (ratio > st->worst) {
      st->worst = ratio;
    }
  }
  return bad;
}

static void
report_failure (Stats * st, const char *what, size_t index, float got,
    float ref, float bound)
{
  st->failed++;
  total_failed++;
  if (st->failed <= 5)
    fprintf (stderr, "FAIL %s/%s: %s\n  %s at element %zu: got %.9g, "
        "scalar %.9g, bound %.3g\n", isa_name (st->isa), st->family,
        current_case, what, index, got, ref, bound);
}

/* Splits [0, n) into three ranges (some may be empty), as threads do. */
/* Compares @rows rows of @n values @stride apart with the reference; the
 * gap after each row must keep its sentinels and nothing outside the
 * buffer may change. Reports the first failure of each kind. */
static void
check_rows (Stats * st, const float *var, const float *ref,
    const float *bound, size_t rows, size_t n, size_t stride,
    const char *what, const char *gap_what, const char *outside_what)
{
  size_t bad_at;

  for (size_t i = 0; i < rows; i++) {
    const size_t o = i * stride;
    if (compare (st, var + o, ref + o, bound + o, n, &bad_at)) {
      report_failure (st, what, o + bad_at, var[o + bad_at],
          ref[o + bad_at], bound[o + bad_at]);
      break;
    }
    for (size_t j = n; j < stride; j++)
      if (!is_sentinel (var + o + j)) {
        report_failure (st, gap_what, o + j, var[o + j], NAN, 0);
        i = rows;
        break;
      }
  }
  if (!buf_outside_intact (var))
    report_failure (st, outside_what, 0, 0, 0, 0);
}

static void
split3 (size_t n, size_t cut[4])
{
  cut[0] = 0;
  cut[1] = rng_below (n + 1);
  cut[2] = cut[1] + rng_below (n - cut[1] + 1);
  cut[3] = n;
}

/* ---- GEMM -------------------------------------------------------------- */

/* The geometry of a 1x1 layer; the buffers are left NULL. */
static void
gemm_params (FvGemmParams * p, size_t k, size_t n, size_t a_stride,
    size_t res_stride, size_t c_stride)
{
  memset (p, 0, sizeof *p);
  p->k = k;
  p->n = n;
  p->a_stride = a_stride;
  p->res_stride = res_stride;
  p->c_stride = c_stride;
}

/* w_oi (n x k) and bias packed into t's panels. */
static float *
gemm_weights (const FvKernelTable * t, size_t k, size_t n, const float *w_oi,
    const float *bias, int layout)
{
  float *w = buf_new (fv_f32_gemm_packed_size (k, n, t->gemm_nr), layout);

  fv_f32_gemm_pack (k, n, t->gemm_nr, w_oi, bias, w);
  return w;
}

static void
check_gemm (Stats * st, const FvKernelTable * ref_t,
    const FvKernelTable * t, size_t m, size_t k, size_t n, int with_alpha,
    int with_res, size_t a_extra, size_t c_extra, int layout)
{
  const size_t a_stride = k + a_extra, c_stride = n + c_extra;
  const size_t res_stride = n + (c_extra ? 1 : 0);
  float *a, *w_oi, *bias, *alpha_raw, *res = NULL;
  float *a_abs, *w_oi_abs, *bias_abs, *res_abs = NULL;
  float *w_ref, *w_abs, *w_var, *alpha_ref = NULL, *alpha_var = NULL;
  float *c_ref, *c_abs, *c_var;
  FvGemmParams p;
  size_t cut[4];

  snprintf (current_case, sizeof current_case,
      "%s m=%zu k=%zu n=%zu a_stride=%zu c_stride=%zu prelu=%d residual=%d "
      "layout=%s", t->gemm_name, m, k, n, a_stride, c_stride, with_alpha,
      with_res, layout_names[layout]);
  if (verbose)
    printf ("  %s\n", current_case);

  a = buf_random (m * a_stride, layout);
  w_oi = buf_random (n * k, LAYOUT_ALIGNED);
  bias = buf_random (n, LAYOUT_ALIGNED);
  alpha_raw = buf_random (n, LAYOUT_ALIGNED);
  if (with_res)
    res = buf_random (m * res_stride, layout);
  a_abs = buf_abs (a, m * a_stride, LAYOUT_ALIGNED);
  w_oi_abs = buf_abs (w_oi, n * k, LAYOUT_ALIGNED);
  bias_abs = buf_abs (bias, n, LAYOUT_ALIGNED);
  if (with_res)
    res_abs = buf_abs (res, m * res_stride, LAYOUT_ALIGNED);

  w_ref = gemm_weights (ref_t, k, n, w_oi, bias, LAYOUT_ALIGNED);
  w_abs = gemm_weights (ref_t, k, n, w_oi_abs, bias_abs, LAYOUT_ALIGNED);
  w_var = gemm_weights (t, k, n, w_oi, bias, layout);
  if (with_alpha) {
    alpha_ref = buf_padded (alpha_raw, n, round_up (n, ref_t->gemm_nr),
        LAYOUT_ALIGNED);
    alpha_var = buf_padded (alpha_raw, n, round_up (n, t->gemm_nr), layout);
  }
  c_ref = buf_new (m * c_stride, LAYOUT_ALIGNED);
  c_abs = buf_new (m * c_stride, LAYOUT_ALIGNED);
  c_var = buf_new (m * c_stride, layout);

  gemm_params (&p, k, n, a_stride, res_stride, c_stride);

  p.a = a;
  p.w = w_ref;
  p.alpha = alpha_ref;
  p.res = res;
  p.c = c_ref;
  ref_t->gemm (&p, 0, m);

  p.a = a_abs;
  p.w = w_abs;
  p.alpha = NULL;
  p.res = res_abs;
  p.c = c_abs;
  ref_t->gemm (&p, 0, m);

  p.a = a;
  p.w = w_var;
  p.alpha = alpha_var;
  p.res = res;
  p.c = c_var;
  split3 (m, cut);
  for (int i = 0; i < 3; i++)
    t->gemm (&p, cut[i], cut[i + 1]);

  st->cases++;
  check_rows (st, c_var, c_ref, c_abs, m, n, c_stride, "output",
      "write into the row gap", "write outside the output");
  bufs_free ();
}

/* Columns split between two outputs at @n_split (two heads as one GEMM):
 * each kernel, scalar included, must write what it writes into one
 * output, bit for bit. */
static void
check_gemm_split (Stats * st, const FvKernelTable * ref_t,
    const FvKernelTable * t, size_t m, size_t k, size_t n, size_t n_split,
    int layout)
{
  const FvKernelTable *tables[2] = { ref_t, t };
  float *a, *w_oi, *bias, *zero;
  size_t bad_at = 0;

  snprintf (current_case, sizeof current_case,
      "%s m=%zu k=%zu n=%zu split at %zu layout=%s", t->gemm_name, m, k, n,
      n_split, layout_names[layout]);
  a = buf_random (m * k, layout);
  w_oi = buf_random (n * k, LAYOUT_ALIGNED);
  bias = buf_random (n, LAYOUT_ALIGNED);
  zero = buf_new (m * n, LAYOUT_ALIGNED);
  memset (zero, 0, m * n * sizeof (float));
  for (int i = 0; i < 2; i++) {
    float *c_ref = buf_new (m * n, LAYOUT_ALIGNED);
    float *c1 = buf_new (m * n_split, layout);
    float *c2 = buf_new (m * (n - n_split), layout);
    FvGemmParams p;

    gemm_params (&p, k, n, k, 0, n);
    p.a = a;
    p.w = gemm_weights (tables[i], k, n, w_oi, bias, layout);
    p.c = c_ref;
    tables[i]->gemm (&p, 0, m);
    p.c = c1;
    p.c_stride = n_split;
    p.c2 = c2;
    p.c2_stride = n - n_split;
    p.n_split = n_split;
    tables[i]->gemm (&p, 0, m);
    st->cases++;
    for (size_t r = 0; r < m; r++) {
      if (compare (st, c1 + r * n_split, c_ref + r * n, zero, n_split, &bad_at)
          || compare (st, c2 + r * (n - n_split), c_ref + r * n + n_split,
              zero, n - n_split, &bad_at)) {
        report_failure (st, "split output", r, 0, 0, 0);
        break;
      }
    }
    if (!buf_outside_intact (c1) || !buf_outside_intact (c2))
      report_failure (st, "write outside a split output", 0, 0, 0, 0);
  }
  bufs_free ();
}

static void
sweep_gemm (const FvKernelTable * ref_t, const FvKernelTable * t, Stats * st)
{
  static const size_t ks[] = { 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31,
    32, 33, 64, 65, 128
  };
  static const size_t ns[] = { 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23,
    24, 31, 32, 33, 47, 48, 63, 64, 65, 96, 192
  };
  static const size_t ms[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
    14, 15, 16, 17, 20, 23, 24, 25, 31, 32, 33, 49
  };
  /* MobileFaceNet's 1x1 layers (rows cut down where they repeat). */
  static const size_t real[][5] = {
    /* m, k, n, prelu, residual */
    {196, 64, 128, 1, 0}, {196, 128, 64, 0, 1}, {49, 128, 256, 1, 0},
    {49, 256, 128, 0, 1}, {49, 128, 512, 1, 0}, {49, 512, 128, 0, 0},
    {1, 512, 512, 0, 0}, {1, 512, 192, 0, 0}, {100, 64, 64, 0, 0},
  };
  const size_t nk = sizeof ks / sizeof ks[0];
  const size_t nn = sizeof ns / sizeof ns[0];
  const size_t nm = sizeof ms / sizeof ms[0];
  size_t idx = 0;

  for (size_t ki = 0; ki < nk; ki++)
    for (size_t ni = 0; ni < nn; ni++, idx++) {
      const size_t m1 = ms[idx % nm], m2 = ms[(idx * 7 + 3) % nm];
      check_gemm (st, ref_t, t, m1, ks[ki], ns[ni], idx & 1, (idx >> 1) & 1,
          (idx >> 2) % 3, (idx >> 3) % 3 == 1 ? 5 : 0, idx % N_LAYOUTS);
      check_gemm (st, ref_t, t, m2, ks[ki], ns[ni], !(idx & 1),
          !((idx >> 1) & 1), 0, 0, (idx + 1) % N_LAYOUTS);
    }
  for (size_t i = 0; i < sizeof real / sizeof real[0]; i++)
    check_gemm (st, ref_t, t, real[i][0], real[i][1], real[i][2],
        (int) real[i][3], (int) real[i][4], 0, 0, i % N_LAYOUTS);
  /* MTCNN's heads (2 + 4 of 32 inputs) and other splits of one panel. */
  for (size_t n = 2; n <= 8; n++)
    for (size_t split = 1; split < n; split++)
      check_gemm_split (st, ref_t, t, ms[(n * 3 + split) % nm], 32, n, split,
          (n + split) % N_LAYOUTS);
}

/* ---- depthwise --------------------------------------------------------- */

/* TensorFlow padding: SAME pads (total) max((out - 1) * s + k - in, 0),
 * the smaller half before; VALID pads nothing. */
static int
tf_padding (size_t in, size_t k, size_t s, int same, size_t *out,
    size_t *pad_before)
{
  if (same) {
    const size_t o = (in + s - 1) / s;
    const ptrdiff_t total = (ptrdiff_t) ((o - 1) * s + k) - (ptrdiff_t) in;
    *out = o;
    *pad_before = total > 0 ? (size_t) total / 2 : 0;
    return 1;
  }
  if (in < k)
    return 0;
  *out = (in - k) / s + 1;
  *pad_before = 0;
  return 1;
}

/* The geometry of a depthwise layer (TensorFlow padding); 0 when VALID
 * leaves no output. The buffers are left NULL. */
static int
dwconv_params (FvDwconvParams * p, size_t in_h, size_t in_w, size_t c,
    size_t kh, size_t kw, size_t sh, size_t sw, int same)
{
  memset (p, 0, sizeof *p);
  p->in_h = in_h;
  p->in_w = in_w;
  p->c = c;
  p->kh = kh;
  p->kw = kw;
  p->stride_h = sh;
  p->stride_w = sw;
  return tf_padding (in_h, kh, sh, same, &p->out_h, &p->pad_top)
      && tf_padding (in_w, kw, sw, same, &p->out_w, &p->pad_left);
}

/* Packs w_raw ([kh][kw][c]) and bias_raw for a channel padding of c_pad
 * into new buffers and points p at them. */
static void
dwconv_weights (FvDwconvParams * p, size_t c_pad, const float *w_raw,
    const float *bias_raw, int layout)
{
  float *w = buf_new (p->kh * p->kw * c_pad, layout);
  float *b = buf_new (c_pad, layout);

  fv_f32_dwconv_pack (p->kh, p->kw, p->c, c_pad, w_raw, bias_raw, w, b);
  p->w = w;
  p->bias = b;
  p->c_pad = c_pad;
}

static void
check_dwconv (Stats * st, const FvKernelTable * ref_t,
    const FvKernelTable * t, FvDwconvFn fn, const char *fn_name,
    size_t batch, size_t in_h, size_t in_w, size_t c, size_t kh, size_t kw,
    size_t sh, size_t sw, int same, int with_alpha, int layout)
{
  FvDwconvParams p;
  size_t n_in, n_out, rows, cut[4], bad_at = 0;
  const size_t cp_ref = round_up (c, ref_t->c_align);
  const size_t cp_var = round_up (c, t->c_align);
  float *in, *w_raw, *bias_raw, *alpha_raw, *in_abs, *w_raw_abs, *bias_abs;
  float *out_ref, *out_abs, *out_var;

  if (!dwconv_params (&p, in_h, in_w, c, kh, kw, sh, sw, same))
    return;
  snprintf (current_case, sizeof current_case,
      "%s batch=%zu in=%zux%zux%zu kernel=%zux%zu stride=%zux%zu %s "
      "(out %zux%zu, pad top %zu left %zu) prelu=%d layout=%s", fn_name,
      batch, in_h, in_w, c, kh, kw, sh, sw, same ? "SAME" : "VALID",
      p.out_h, p.out_w, p.pad_top, p.pad_left, with_alpha,
      layout_names[layout]);
  if (verbose)
    printf ("  %s\n", current_case);

  n_in = batch * in_h * in_w * c;
  n_out = batch * p.out_h * p.out_w * c;
  rows = batch * p.out_h;
  in = buf_random (n_in, layout);
  w_raw = buf_random (kh * kw * c, LAYOUT_ALIGNED);
  bias_raw = buf_random (c, LAYOUT_ALIGNED);
  alpha_raw = buf_random (c, LAYOUT_ALIGNED);
  in_abs = buf_abs (in, n_in, LAYOUT_ALIGNED);
  w_raw_abs = buf_abs (w_raw, kh * kw * c, LAYOUT_ALIGNED);
  bias_abs = buf_abs (bias_raw, c, LAYOUT_ALIGNED);
  out_ref = buf_new (n_out, LAYOUT_ALIGNED);
  out_abs = buf_new (n_out, LAYOUT_ALIGNED);
  out_var = buf_new (n_out, layout);

  p.in = in;
  p.out = out_ref;
  dwconv_weights (&p, cp_ref, w_raw, bias_raw, LAYOUT_ALIGNED);
  p.alpha = with_alpha ? buf_padded (alpha_raw, c, cp_ref, LAYOUT_ALIGNED)
      : NULL;
  ref_t->dwconv (&p, 0, rows);

  p.in = in_abs;
  p.out = out_abs;
  dwconv_weights (&p, cp_ref, w_raw_abs, bias_abs, LAYOUT_ALIGNED);
  p.alpha = NULL;
  ref_t->dwconv (&p, 0, rows);

  p.in = in;
  p.out = out_var;
  dwconv_weights (&p, cp_var, w_raw, bias_raw, layout);
  p.alpha = with_alpha ? buf_padded (alpha_raw, c, cp_var, layout) : NULL;
  split3 (rows, cut);
  for (int i = 0; i < 3; i++)
    fn (&p, cut[i], cut[i + 1]);

  st->cases++;
  if (compare (st, out_var, out_ref, out_abs, n_out, &bad_at))
    report_failure (st, "output", bad_at, out_var[bad_at], out_ref[bad_at],
        out_abs[bad_at]);
  if (!buf_outside_intact (out_var))
    report_failure (st, "write outside the output", 0, 0, 0, 0);
  bufs_free ();
}

static void
sweep_dwconv3x3 (const FvKernelTable * ref_t, const FvKernelTable * t,
    Stats * st)
{
  static const size_t cs[] = { 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20,
    24, 31, 32, 33, 64
  };
  static const size_t hw[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13 };
  /* MobileFaceNet's 3x3 depthwise layers (some heights cut down). */
  static const size_t real[][4] = {
    /* in_h, in_w, c, stride */
    {12, 56, 64, 1}, {13, 56, 128, 2}, {28, 28, 128, 1}, {28, 28, 256, 2},
    {14, 14, 256, 1}, {14, 14, 512, 2}, {7, 7, 256, 1},
  };
  const size_t nc = sizeof cs / sizeof cs[0], nhw = sizeof hw / sizeof hw[0];
  size_t idx = 0;

  for (size_t ci = 0; ci < nc; ci++)
    for (size_t s = 1; s <= 2; s++)
      for (size_t hi = 0; hi < nhw; hi++, idx++) {
        const size_t in_h = hw[hi], in_w = hw[(hi + ci + s) % nhw];
        check_dwconv (st, ref_t, t, t->dwconv3x3, t->dwconv3x3_name,
            1 + (idx % 5 == 0), in_h, in_w, cs[ci], 3, 3, s, s,
            idx % 4 != 3, (idx >> 1) & 1, idx % N_LAYOUTS);
      }
  /* Mixed strides and a wide row. */
  check_dwconv (st, ref_t, t, t->dwconv3x3, t->dwconv3x3_name, 1, 5, 9, 12,
      3, 3, 1, 2, 1, 1, LAYOUT_TIGHT);
  check_dwconv (st, ref_t, t, t->dwconv3x3, t->dwconv3x3_name, 2, 9, 6, 13,
      3, 3, 2, 1, 1, 0, LAYOUT_UNALIGNED);
  check_dwconv (st, ref_t, t, t->dwconv3x3, t->dwconv3x3_name, 1, 3, 67, 8,
      3, 3, 1, 1, 1, 1, LAYOUT_TIGHT);
  for (size_t i = 0; i < sizeof real / sizeof real[0]; i++)
    check_dwconv (st, ref_t, t, t->dwconv3x3, t->dwconv3x3_name, 1,
        real[i][0], real[i][1], real[i][2], 3, 3, real[i][3], real[i][3], 1,
        1, i % N_LAYOUTS);
}

static void
sweep_dwconv (const FvKernelTable * ref_t, const FvKernelTable * t, Stats * st)
{
  static const size_t ks[][2] = {
    {1, 1}, {2, 2}, {3, 3}, {5, 5}, {7, 7}, {3, 5}, {1, 3}, {4, 2},
  };
  static const size_t cs[] = { 1, 3, 4, 5, 8, 12, 15, 16, 17, 19, 32, 33,
    48
  };
  static const size_t hw[] = { 1, 2, 3, 5, 7, 8, 11 };
  const size_t nk = sizeof ks / sizeof ks[0];
  const size_t nc = sizeof cs / sizeof cs[0], nhw = sizeof hw / sizeof hw[0];
  size_t idx = 0;

  for (size_t ki = 0; ki < nk; ki++)
    for (size_t ci = 0; ci < nc; ci++)
      for (size_t s = 1; s <= 2; s++, idx++) {
        const size_t in_h = hw[idx % nhw], in_w = hw[(idx * 3 + 1) % nhw];
        check_dwconv (st, ref_t, t, t->dwconv, t->dwconv_name,
            1 + (idx % 7 == 0), in_h, in_w, cs[ci], ks[ki][0], ks[ki][1], s,
            s, idx % 3 != 2, (idx >> 1) & 1, idx % N_LAYOUTS);
      }
  /* The global depthwise 7x7 of MobileFaceNet, and variations of it. */
  check_dwconv (st, ref_t, t, t->dwconv, t->dwconv_name, 1, 7, 7, 512, 7, 7,
      1, 1, 0, 0, LAYOUT_TIGHT);
  check_dwconv (st, ref_t, t, t->dwconv, t->dwconv_name, 2, 7, 7, 512, 7, 7,
      1, 1, 0, 1, LAYOUT_UNALIGNED);
  check_dwconv (st, ref_t, t, t->dwconv, t->dwconv_name, 3, 7, 7, 37, 7, 7,
      1, 1, 0, 0, LAYOUT_TIGHT);
}

/* ---- direct convolution ------------------------------------------------ */

/* The geometry of a direct convolution (TensorFlow padding); 0 when VALID
 * leaves no output. The buffers are left NULL. */
static int
conv_params (FvConvParams * p, size_t in_h, size_t in_w, size_t ic,
    size_t oc, size_t kh, size_t kw, size_t sh, size_t sw, int same)
{
  memset (p, 0, sizeof *p);
  p->in_h = in_h;
  p->in_w = in_w;
  p->in_c = ic;
  p->out_c = oc;
  p->kh = kh;
  p->kw = kw;
  p->stride_h = sh;
  p->stride_w = sw;
  return tf_padding (in_h, kh, sh, same, &p->out_h, &p->pad_top)
      && tf_padding (in_w, kw, sw, same, &p->out_w, &p->pad_left);
}

/* Packs w_raw ([oc][kh][kw][ic]) and bias_raw for an output channel
 * padding of oc_pad into new buffers and points p at them. */
static void
conv_weights (FvConvParams * p, size_t oc_pad, const float *w_raw,
    const float *bias_raw, int layout)
{
  float *w = buf_new (p->kh * p->kw * p->in_c * oc_pad, layout);
  float *b = buf_new (oc_pad, layout);

  fv_f32_conv_pack (p->out_c, p->kh, p->kw, p->in_c, oc_pad, w_raw, bias_raw,
      w, b);
  p->w = w;
  p->bias = b;
  p->oc_pad = oc_pad;
}

/* The scalar convolution with a fused 2x2 stride-2 pool must equal the scalar convolution followed by the max-pool
 * kernel, bit for bit. */
static void
check_pool_fusion (Stats * st, const FvKernelTable * ref_t,
    const FvConvParams * fused, size_t batch)
{
  FvConvParams p = *fused;
  FvPoolParams q;
  size_t n_full = batch * p.out_h * p.out_w * p.out_c;
  size_t n_out = batch * p.pool_h * p.pool_w * p.out_c, bad_at = 0;
  float *full = buf_new (n_full, LAYOUT_ALIGNED);
  float *pooled = buf_new (n_out, LAYOUT_ALIGNED);
  float *zero = buf_new (n_out, LAYOUT_ALIGNED);

  memset (zero, 0, n_out * sizeof (float));
  p.pool_h = p.pool_w = 0;
  p.out = full;
  ref_t->conv (&p, 0, batch * p.out_h);
  memset (&q, 0, sizeof q);
  q.in_h = p.out_h;
  q.in_w = p.out_w;
  q.c = p.out_c;
  q.out_h = fused->pool_h;
  q.out_w = fused->pool_w;
  q.kh = q.kw = q.stride_h = q.stride_w = 2;
  q.in = full;
  q.out = pooled;
  ref_t->maxpool (&q, 0, batch * q.out_h);
  st->cases++;
  if (compare (st, fused->out, pooled, zero, n_out, &bad_at))
    report_failure (st, "fused pool vs conv + pool", bad_at,
        fused->out[bad_at], pooled[bad_at], 0);
}

static void
check_conv (Stats * st, const FvKernelTable * ref_t, const FvKernelTable * t,
    size_t batch, size_t in_h, size_t in_w, size_t ic, size_t oc, size_t kh,
    size_t kw, size_t sh, size_t sw, int same, int with_alpha, int layout);

/* check_conv with a fused 2x2 stride-2 max pool (@pool_same: SAME, the
 * last odd row and column pooled alone; else VALID) after an unpadded
 * convolution; @pool 0: none. */
static void
check_conv_pool (Stats * st, const FvKernelTable * ref_t,
    const FvKernelTable * t, size_t batch, size_t in_h, size_t in_w,
    size_t ic, size_t oc, size_t kh, size_t kw, size_t sh, size_t sw,
    int same, int with_alpha, int layout, int pool, int pool_same)
{
  FvConvParams p;
  size_t n_in, n_out, rows, cut[4], bad_at = 0;
  const size_t cp_ref = round_up (oc, ref_t->c_align);
  const size_t cp_var = round_up (oc, t->c_align);
  const size_t n_w = oc * kh * kw * ic;
  float *in, *w_raw, *bias_raw, *alpha_raw, *in_abs, *w_raw_abs, *bias_abs;
  float *out_ref, *out_abs, *out_var;

  if (!conv_params (&p, in_h, in_w, ic, oc, kh, kw, sh, sw, same))
    return;
  if (pool) {
    p.pool_h = pool_same ? (p.out_h + 1) / 2 : p.out_h / 2;
    p.pool_w = pool_same ? (p.out_w + 1) / 2 : p.out_w / 2;
    if (p.pool_h == 0 || p.pool_w == 0)
      return;
  }
  snprintf (current_case, sizeof current_case,
      "%s batch=%zu in=%zux%zux%zu out_c=%zu kernel=%zux%zu stride=%zux%zu "
      "%s (out %zux%zu, pad top %zu left %zu) prelu=%d layout=%s "
      "pool=%zux%zu", t->conv_name, batch, in_h, in_w, ic, oc, kh, kw, sh,
      sw, same ? "SAME" : "VALID", p.out_h, p.out_w, p.pad_top, p.pad_left,
      with_alpha, layout_names[layout], p.pool_h, p.pool_w);
  if (verbose)
    printf ("  %s\n", current_case);

  n_in = batch * in_h * in_w * ic;
  n_out = pool ? batch * p.pool_h * p.pool_w * oc
      : batch * p.out_h * p.out_w * oc;
  rows = batch * (pool ? p.pool_h : p.out_h);
  in = buf_random (n_in, layout);
  w_raw = buf_random (n_w, LAYOUT_ALIGNED);
  bias_raw = buf_random (oc, LAYOUT_ALIGNED);
  alpha_raw = buf_random (oc, LAYOUT_ALIGNED);
  in_abs = buf_abs (in, n_in, LAYOUT_ALIGNED);
  w_raw_abs = buf_abs (w_raw, n_w, LAYOUT_ALIGNED);
  bias_abs = buf_abs (bias_raw, oc, LAYOUT_ALIGNED);
  out_ref = buf_new (n_out, LAYOUT_ALIGNED);
  out_abs = buf_new (n_out, LAYOUT_ALIGNED);
  out_var = buf_new (n_out, layout);

  p.in = in;
  p.out = out_ref;
  conv_weights (&p, cp_ref, w_raw, bias_raw, LAYOUT_ALIGNED);
  p.alpha = with_alpha ? buf_padded (alpha_raw, oc, cp_ref, LAYOUT_ALIGNED)
      : NULL;
  ref_t->conv (&p, 0, rows);
  if (pool)
    check_pool_fusion (st, ref_t, &p, batch);

  p.in = in_abs;
  p.out = out_abs;
  conv_weights (&p, cp_ref, w_raw_abs, bias_abs, LAYOUT_ALIGNED);
  p.alpha = NULL;
  ref_t->conv (&p, 0, rows);

  p.in = in;
  p.out = out_var;
  conv_weights (&p, cp_var, w_raw, bias_raw, layout);
  p.alpha = with_alpha ? buf_padded (alpha_raw, oc, cp_var, layout) : NULL;
  split3 (rows, cut);
  for (int i = 0; i < 3; i++)
    t->conv (&p, cut[i], cut[i + 1]);

  st->cases++;
  if (compare (st, out_var, out_ref, out_abs, n_out, &bad_at))
    report_failure (st, "output", bad_at, out_var[bad_at], out_ref[bad_at],
        out_abs[bad_at]);
  if (!buf_outside_intact (out_var))
    report_failure (st, "write outside the output", 0, 0, 0, 0);
  bufs_free ();
}

static void
check_conv (Stats * st, const FvKernelTable * ref_t, const FvKernelTable * t,
    size_t batch, size_t in_h, size_t in_w, size_t ic, size_t oc, size_t kh,
    size_t kw, size_t sh, size_t sw, int same, int with_alpha, int layout)
{
  check_conv_pool (st, ref_t, t, batch, in_h, in_w, ic, oc, kh, kw, sh, sw,
      same, with_alpha, layout, 0, 0);
}

/* MTCNN's conv1 + pool1 fused: odd and even sizes, every pixel step. */
static void
sweep_conv_pool (const FvKernelTable * ref_t, const FvKernelTable * t,
    Stats * st)
{
  static const size_t hw[] = { 3, 4, 5, 6, 7, 9, 12, 17, 22, 31 };
  static const size_t ocs[] = { 1, 4, 8, 10, 16, 17, 32, 33 };
  const size_t nhw = sizeof hw / sizeof hw[0];
  size_t idx = 0;

  for (size_t oi = 0; oi < sizeof ocs / sizeof ocs[0]; oi++)
    for (size_t k = 0; k < 4; k++, idx++)
      check_conv_pool (st, ref_t, t, 1 + (idx % 3 == 0), hw[idx % nhw],
          hw[(idx * 7 + 3) % nhw], 1 + idx % 5, ocs[oi], 3, 3, 1 + (k == 3),
          1 + (k == 3), 0, k != 1, idx % N_LAYOUTS, 1, k & 1);
  check_conv_pool (st, ref_t, t, 1, 9, 67, 3, 10, 3, 3, 1, 1, 0, 1,
      LAYOUT_TIGHT, 1, 1);
  check_conv_pool (st, ref_t, t, 1, 10, 66, 3, 10, 3, 3, 1, 1, 0, 1,
      LAYOUT_UNALIGNED, 1, 1);
}

static void
sweep_conv (const FvKernelTable * ref_t, const FvKernelTable * t, Stats * st)
{
  /* kh, kw, stride, SAME */
  static const size_t ks[][4] = {
    {3, 3, 2, 1}, {3, 3, 1, 0}, {2, 2, 1, 0}, {3, 3, 1, 1}, {1, 1, 2, 0},
    {5, 5, 1, 1}, {3, 3, 2, 0}, {2, 3, 1, 1},
  };
  static const size_t ocs[] = { 1, 2, 3, 4, 5, 7, 8, 10, 12, 15, 16, 17,
    20, 28, 32, 33, 48, 64
  };
  static const size_t ics[] = { 1, 2, 3, 4, 5, 10, 16 };
  static const size_t hw[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 16 };
  const size_t nk = sizeof ks / sizeof ks[0], noc = sizeof ocs / sizeof ocs[0];
  const size_t nic = sizeof ics / sizeof ics[0];
  const size_t nhw = sizeof hw / sizeof hw[0];
  size_t idx = 0;

  for (size_t ki = 0; ki < nk; ki++)
    for (size_t oi = 0; oi < noc; oi++, idx++) {
      check_conv (st, ref_t, t, 1 + (idx % 6 == 0), hw[idx % nhw],
          hw[(idx * 5 + 2) % nhw], ics[idx % nic], ocs[oi], ks[ki][0],
          ks[ki][1], ks[ki][2], ks[ki][2], (int) ks[ki][3], (idx >> 1) & 1,
          idx % N_LAYOUTS);
      check_conv (st, ref_t, t, 1, hw[(idx * 3 + 1) % nhw],
          hw[(idx + 4) % nhw], ics[(idx * 3 + 2) % nic], ocs[oi], ks[ki][0],
          ks[ki][1], ks[ki][2], ks[ki][2], (int) ks[ki][3], !(idx & 1),
          (idx + 1) % N_LAYOUTS);
    }
  /* The MobileFaceNet stem (rows cut down), and the first MTCNN layers. */
  check_conv (st, ref_t, t, 1, 20, 112, 3, 64, 3, 3, 2, 2, 1, 1, LAYOUT_TIGHT);
  check_conv (st, ref_t, t, 1, 21, 111, 3, 64, 3, 3, 2, 2, 1, 1,
      LAYOUT_UNALIGNED);
  check_conv (st, ref_t, t, 2, 12, 12, 3, 10, 3, 3, 1, 1, 0, 1, LAYOUT_TIGHT);
  check_conv (st, ref_t, t, 1, 24, 24, 3, 28, 3, 3, 1, 1, 0, 1, LAYOUT_ALIGNED);
  check_conv (st, ref_t, t, 1, 4, 4, 48, 64, 2, 2, 1, 1, 0, 1, LAYOUT_TIGHT);
  /* P-Net rows of a pyramid level: every pixel step of the narrow blocks
   * (full, half and single steps). */
  check_conv (st, ref_t, t, 1, 5, 67, 3, 10, 3, 3, 1, 1, 0, 1, LAYOUT_TIGHT);
  check_conv (st, ref_t, t, 2, 4, 45, 10, 16, 3, 3, 1, 1, 0, 1,
      LAYOUT_UNALIGNED);
  check_conv (st, ref_t, t, 1, 3, 39, 16, 32, 3, 3, 1, 1, 0, 1, LAYOUT_ALIGNED);
  sweep_conv_pool (ref_t, t, st);
}

/* ---- max pooling --------------------------------------------------------- */

/* Max pooling is exact: the kernel must give the scalar values bit for
 * bit (the tolerance bound is 0). */
static void
check_maxpool (Stats * st, const FvKernelTable * ref_t,
    const FvKernelTable * t, size_t batch, size_t in_h, size_t in_w,
    size_t c, size_t kh, size_t kw, size_t sh, size_t sw, int same, int relu,
    int layout)
{
  FvPoolParams p;
  size_t n_in, n_out, rows, cut[4], bad_at = 0;
  float *in, *out_ref, *out_var, *zero;

  memset (&p, 0, sizeof p);
  p.in_h = in_h;
  p.in_w = in_w;
  p.c = c;
  p.kh = kh;
  p.kw = kw;
  p.stride_h = sh;
  p.stride_w = sw;
  p.relu = relu;
  if (!tf_padding (in_h, kh, sh, same, &p.out_h, &p.pad_top)
      || !tf_padding (in_w, kw, sw, same, &p.out_w, &p.pad_left))
    return;
  snprintf (current_case, sizeof current_case,
      "%s batch=%zu in=%zux%zux%zu window=%zux%zu stride=%zux%zu %s "
      "(out %zux%zu, pad top %zu left %zu) relu=%d layout=%s",
      t->maxpool_name, batch, in_h, in_w, c, kh, kw, sh, sw,
      same ? "SAME" : "VALID", p.out_h, p.out_w, p.pad_top, p.pad_left, relu,
      layout_names[layout]);
  if (verbose)
    printf ("  %s\n", current_case);

  n_in = batch * in_h * in_w * c;
  n_out = batch * p.out_h * p.out_w * c;
  rows = batch * p.out_h;
  in = buf_random (n_in, layout);
  out_ref = buf_new (n_out, LAYOUT_ALIGNED);
  out_var = buf_new (n_out, layout);
  zero = buf_new (n_out, LAYOUT_ALIGNED);
  memset (zero, 0, n_out * sizeof (float));

  p.in = in;
  p.out = out_ref;
  ref_t->maxpool (&p, 0, rows);
  p.out = out_var;
  split3 (rows, cut);
  for (int i = 0; i < 3; i++)
    t->maxpool (&p, cut[i], cut[i + 1]);

  st->cases++;
  if (compare (st, out_var, out_ref, zero, n_out, &bad_at))
    report_failure (st, "output", bad_at, out_var[bad_at], out_ref[bad_at],
        0.0f);
  if (!buf_outside_intact (out_var))
    report_failure (st, "write outside the output", 0, 0, 0, 0);
  bufs_free ();
}

static void
sweep_maxpool (const FvKernelTable * ref_t, const FvKernelTable * t, Stats * st)
{
  /* kh, kw, stride, SAME */
  static const size_t ks[][4] = {
    {2, 2, 2, 1}, {3, 3, 2, 1}, {2, 2, 2, 0}, {3, 3, 2, 0}, {3, 3, 1, 1},
    {1, 1, 1, 0}, {2, 3, 1, 1},
  };
  static const size_t cs[] = { 1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 16, 17, 28,
    31, 32, 33, 48, 64, 65, 129
  };
  static const size_t hw[] = { 1, 2, 3, 4, 5, 6, 7, 9, 11, 12, 13 };
  const size_t nk = sizeof ks / sizeof ks[0], nc = sizeof cs / sizeof cs[0];
  const size_t nhw = sizeof hw / sizeof hw[0];
  size_t idx = 0;

  for (size_t ki = 0; ki < nk; ki++)
    for (size_t ci = 0; ci < nc; ci++, idx++)
      check_maxpool (st, ref_t, t, 1 + (idx % 5 == 0), hw[idx % nhw],
          hw[(idx * 7 + 3) % nhw], cs[ci], ks[ki][0], ks[ki][1], ks[ki][2],
          ks[ki][2], (int) ks[ki][3], (idx >> 1) & 1, idx % N_LAYOUTS);
  /* MTCNN's pools: P-Net (a 640-pixel level cut down), R-Net, O-Net. */
  check_maxpool (st, ref_t, t, 1, 9, 318, 10, 2, 2, 2, 2, 1, 0, LAYOUT_TIGHT);
  check_maxpool (st, ref_t, t, 3, 22, 22, 28, 3, 3, 2, 2, 1, 0,
      LAYOUT_UNALIGNED);
  check_maxpool (st, ref_t, t, 2, 9, 9, 48, 3, 3, 2, 2, 0, 0, LAYOUT_ALIGNED);
  check_maxpool (st, ref_t, t, 2, 46, 46, 32, 3, 3, 2, 2, 1, 0, LAYOUT_TIGHT);
  check_maxpool (st, ref_t, t, 2, 8, 8, 64, 2, 2, 2, 2, 1, 0, LAYOUT_TIGHT);
}

/* ---- dotrows (gallery scan) --------------------------------------------- */

/* n_rows random rows of dim floats, zero-padded to stride. */
static float *
scan_rows (size_t n_rows, size_t dim, size_t stride, int layout)
{
  float *rows = buf_new (n_rows * stride, layout);

  for (size_t i = 0; i < n_rows; i++)
    for (size_t k = 0; k < stride; k++)
      rows[i * stride + k] = k < dim ? rng_float () : 0.0f;
  return rows;
}

/* The rows as IEEE half floats, in a buffer of the same layout. */
static const uint16_t *
scan_rows_f16 (const float *rows, size_t n, int layout)
{
  uint16_t *h = (uint16_t *) buf_new ((n + 1) / 2, layout);

  for (size_t i = 0; i < n; i++)
    h[i] = fv_f32_to_f16 (rows[i]);
  return h;
}

/* Rows keep the matcher's contract (64-byte aligned, zero-padded to a
 * multiple of FV_SCAN_ROW_ALIGN); the queries take the layout. With @f16
 * the half-float scans are compared, on the same rows rounded to half. */
static void
check_dotrows (Stats * st, const FvKernelTable * ref_t,
    const FvKernelTable * t, int f16, size_t n_rows, size_t dim, size_t nq,
    int layout)
{
  const size_t stride = round_up (dim ? dim : 1, FV_SCAN_ROW_ALIGN);
  const size_t ss = n_rows + 3;
  const int row_layout = layout == LAYOUT_TIGHT ? LAYOUT_TIGHT : LAYOUT_ALIGNED;
  const float *q[FV_SCAN_MAX_QUERIES], *q_abs[FV_SCAN_MAX_QUERIES];
  float *rows, *rows_abs, *s_ref, *s_abs, *s_var;

  snprintf (current_case, sizeof current_case,
      "%s rows=%zu dim=%zu queries=%zu layout=%s",
      f16 ? t->dotrows_f16_name : t->dotrows_name, n_rows, dim, nq,
      layout_names[layout]);
  rows = scan_rows (n_rows, dim, stride, row_layout);
  rows_abs = buf_abs (rows, n_rows * stride, LAYOUT_ALIGNED);
  for (size_t j = 0; j < nq; j++) {
    q[j] = buf_random (dim, layout);
    q_abs[j] = buf_abs (q[j], dim, LAYOUT_ALIGNED);
  }
  s_ref = buf_new (nq * ss, LAYOUT_ALIGNED);
  s_abs = buf_new (nq * ss, LAYOUT_ALIGNED);
  s_var = buf_new (nq * ss, layout);
  if (f16) {
    const uint16_t *h = scan_rows_f16 (rows, n_rows * stride, row_layout);
    const uint16_t *h_abs = scan_rows_f16 (rows_abs, n_rows * stride,
        LAYOUT_ALIGNED);

    ref_t->dotrows_f16 (n_rows, dim, h, stride, nq, q, s_ref, ss);
    ref_t->dotrows_f16 (n_rows, dim, h_abs, stride, nq, q_abs, s_abs, ss);
    t->dotrows_f16 (n_rows, dim, h, stride, nq, q, s_var, ss);
  } else {
    ref_t->dotrows (n_rows, dim, rows, stride, nq, q, s_ref, ss);
    ref_t->dotrows (n_rows, dim, rows_abs, stride, nq, q_abs, s_abs, ss);
    t->dotrows (n_rows, dim, rows, stride, nq, q, s_var, ss);
  }

  st->cases++;
  check_rows (st, s_var, s_ref, s_abs, nq, n_rows, ss, "score",
      "write into the score gap", "write outside the scores");
  bufs_free ();
}

static void
sweep_dotrows (const FvKernelTable * ref_t, const FvKernelTable * t,
    int f16, Stats * st)
{
  static const size_t dims[] = { 1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 100,
    191, 192, 193
  };
  static const size_t n_rows[] = { 0, 1, 2, 3, 4, 5, 7, 8, 63, 64, 65, 130 };
  size_t idx = 0;

  for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
    for (size_t ri = 0; ri < sizeof n_rows / sizeof n_rows[0]; ri++)
      for (size_t nq = 1; nq <= FV_SCAN_MAX_QUERIES; nq++, idx++)
        check_dotrows (st, ref_t, t, f16, n_rows[ri], dims[di], nq,
            (int) (idx % N_LAYOUTS));
}

/* fv_f16_to_f32() on every half and fv_f32_to_f16() on edge and random
 * floats against the CPU's own conversions (F16C), bit for bit. */
#if defined(__x86_64__)
__attribute__((target ("f16c")))
     static unsigned check_f16_against_f16c (void)
{
  unsigned bad = 0;

  for (uint32_t h = 0; h < 65536; h++) {
    float want = _mm_cvtss_f32 (_mm_cvtph_ps (_mm_cvtsi32_si128 ((int) h)));
    float got = fv_f16_to_f32 ((uint16_t) h);

    if (memcmp (&want, &got, sizeof want) != 0 && !(isnan (want)
            && isnan (got)))
      bad++;
  }
  for (uint32_t i = 0; i < (1u << 22); i++) {
    /* every exponent and a spread of mantissas, both signs */
    uint32_t bits = (i << 10) ^ (i * 2654435761u & 0x3ff);
    float f;
    uint16_t want, got;

    memcpy (&f, &bits, sizeof f);
    want = (uint16_t) _mm_extract_epi16 (_mm_cvtps_ph (_mm_set_ss (f),
            _MM_FROUND_TO_NEAREST_INT), 0);
    got = fv_f32_to_f16 (f);
    if (want != got && !(isnan (f) && (got & 0x7c00) == 0x7c00
            && (got & 0x3ff)))
      bad++;
  }
  return bad;
}
#endif

/* ---- bench (--bench) ---------------------------------------------------- */

/* Each sample times a batch of calls lasting at least BENCH_MIN_NS; the
 * figure printed is the median over BENCH_SAMPLES samples of the time
 * per call. Nothing is asserted about it. */
#define BENCH_SAMPLES 21
#define BENCH_MIN_NS 1e6

/* The levels this CPU can run, scalar first. */
static const FvKernelTable *bench_tables[FV_ISA_COUNT];
static int n_bench_tables;
static double bench_scalar_ns;

typedef void (*BenchRun) (const void *job);

/* This thread's CPU time: other programs on a busy machine do not count. */
static double
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static int
cmp_double (const void *a, const void *b)
{
  const double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* The median time of one run (job), in ns. */
static double
bench_median_ns (BenchRun run, const void *job)
{
  double samples[BENCH_SAMPLES], t0, elapsed;
  unsigned long calls = 1;

  run (job);                    /* warm the caches, fault the pages in */
  for (;;) {
    t0 = now_ns ();
    for (unsigned long i = 0; i < calls; i++)
      run (job);
    elapsed = now_ns () - t0;
    if (elapsed >= BENCH_MIN_NS || calls >= (1ul << 24))
      break;
    calls *= 2;
  }
  for (int s = 0; s < BENCH_SAMPLES; s++) {
    t0 = now_ns ();
    for (unsigned long i = 0; i < calls; i++)
      run (job);
    samples[s] = (now_ns () - t0) / (double) calls;
  }
  qsort (samples, BENCH_SAMPLES, sizeof samples[0], cmp_double);
  return samples[BENCH_SAMPLES / 2];
}

static void
bench_header (const char *family, const char *shape, double flops)
{
  printf ("%-10s %s (%.2f MFLOP per call)\n", family, shape, flops * 1e-6);
}

/* Times run (job) with t's kernel and prints its line; the scalar level
 * comes first and sets the reference of the speed-up. */
static void
bench_kernel (const FvKernelTable * t, const char *kernel, double flops,
    BenchRun run, const void *job)
{
  double ns;

  snprintf (current_case, sizeof current_case, "--bench %s", kernel);
  ns = bench_median_ns (run, job);
  if (t->isa == FV_ISA_SCALAR)
    bench_scalar_ns = ns;
  printf ("  %-7s %-44s %12.0f ns %8.2f GFLOP/s %6.2fx\n", isa_name (t->isa),
      kernel, ns, flops / ns, bench_scalar_ns / ns);
}

typedef struct
{
  FvGemmFn fn;
  FvGemmParams p;
  size_t m;
} GemmJob;

static void
run_gemm (const void *job)
{
  const GemmJob *j = job;

  j->fn (&j->p, 0, j->m);
}

/* A 1x1 convolution on h x w x k, to n channels. */
static void
bench_gemm (size_t h, size_t w, size_t k, size_t n, int with_alpha)
{
  const size_t m = h * w;
  const double flops = 2.0 * (double) m * (double) k * (double) n;
  float *w_oi, *bias, *alpha_raw;
  GemmJob job;
  char shape[128];

  snprintf (shape, sizeof shape, "1x1 conv %zux%zux%zu -> %zu%s", h, w, k,
      n, with_alpha ? ", PReLU" : "");
  bench_header ("gemm", shape, flops);
  gemm_params (&job.p, k, n, k, n, n);
  job.m = m;
  job.p.a = buf_random (m * k, LAYOUT_ALIGNED);
  job.p.c = buf_new (m * n, LAYOUT_ALIGNED);
  w_oi = buf_random (n * k, LAYOUT_ALIGNED);
  bias = buf_random (n, LAYOUT_ALIGNED);
  alpha_raw = buf_random (n, LAYOUT_ALIGNED);
  for (int i = 0; i < n_bench_tables; i++) {
    const FvKernelTable *t = bench_tables[i];

    job.fn = t->gemm;
    job.p.w = gemm_weights (t, k, n, w_oi, bias, LAYOUT_ALIGNED);
    job.p.alpha = with_alpha ? buf_padded (alpha_raw, n,
        round_up (n, t->gemm_nr), LAYOUT_ALIGNED) : NULL;
    bench_kernel (t, t->gemm_name, flops, run_gemm, &job);
  }
  bufs_free ();
}

typedef struct
{
  FvDwconvFn fn;
  FvDwconvParams p;
} DwconvJob;

static void
run_dwconv (const void *job)
{
  const DwconvJob *j = job;

  j->fn (&j->p, 0, j->p.out_h);
}

/* A depthwise k x k layer on h x w x c (SAME padding, or VALID). */
static void
bench_dwconv (const char *family, size_t h, size_t w, size_t c, size_t k,
    size_t s, int same, int with_alpha)
{
  float *w_raw, *bias_raw, *alpha_raw;
  DwconvJob job;
  double flops;
  char shape[128];

  dwconv_params (&job.p, h, w, c, k, k, s, s, same);
  flops = 2.0 * (double) (job.p.out_h * job.p.out_w * c) * (double) (k * k);
  snprintf (shape, sizeof shape, "%zux%zu stride %zu %s on %zux%zux%zu%s", k,
      k, s, same ? "SAME" : "VALID", h, w, c, with_alpha ? ", PReLU" : "");
  bench_header (family, shape, flops);
  job.p.in = buf_random (h * w * c, LAYOUT_ALIGNED);
  job.p.out = buf_new (job.p.out_h * job.p.out_w * c, LAYOUT_ALIGNED);
  w_raw = buf_random (k * k * c, LAYOUT_ALIGNED);
  bias_raw = buf_random (c, LAYOUT_ALIGNED);
  alpha_raw = buf_random (c, LAYOUT_ALIGNED);
  for (int i = 0; i < n_bench_tables; i++) {
    const FvKernelTable *t = bench_tables[i];
    const size_t cp = round_up (c, t->c_align);
    const int is3x3 = strcmp (family, "dwconv3x3") == 0;

    job.fn = is3x3 ? t->dwconv3x3 : t->dwconv;
    dwconv_weights (&job.p, cp, w_raw, bias_raw, LAYOUT_ALIGNED);
    job.p.alpha = with_alpha ? buf_padded (alpha_raw, c, cp, LAYOUT_ALIGNED)
        : NULL;
    bench_kernel (t, is3x3 ? t->dwconv3x3_name : t->dwconv_name, flops,
        run_dwconv, &job);
  }
  bufs_free ();
}

typedef struct
{
  FvConvFn fn;
  FvConvParams p;
} ConvJob;

static void
run_conv (const void *job)
{
  const ConvJob *j = job;

  j->fn (&j->p, 0, j->p.out_h);
}

/* A k x k convolution on h x w x ic, to oc channels. */
static void
bench_conv (size_t h, size_t w, size_t ic, size_t oc, size_t k, size_t s,
    int same, int with_alpha)
{
  float *w_raw, *bias_raw, *alpha_raw;
  ConvJob job;
  double flops;
  char shape[128];

  conv_params (&job.p, h, w, ic, oc, k, k, s, s, same);
  flops = 2.0 * (double) (job.p.out_h * job.p.out_w * oc)
      * (double) (k * k * ic);
  snprintf (shape, sizeof shape, "%zux%zu stride %zu %s on %zux%zux%zu -> "
      "%zu%s", k, k, s, same ? "SAME" : "VALID", h, w, ic, oc,
      with_alpha ? ", PReLU" : "");
  bench_header ("conv", shape, flops);
  job.p.in = buf_random (h * w * ic, LAYOUT_ALIGNED);
  job.p.out = buf_new (job.p.out_h * job.p.out_w * oc, LAYOUT_ALIGNED);
  w_raw = buf_random (oc * k * k * ic, LAYOUT_ALIGNED);
  bias_raw = buf_random (oc, LAYOUT_ALIGNED);
  alpha_raw = buf_random (oc, LAYOUT_ALIGNED);
  for (int i = 0; i < n_bench_tables; i++) {
    const FvKernelTable *t = bench_tables[i];
    const size_t cp = round_up (oc, t->c_align);

    job.fn = t->conv;
    conv_weights (&job.p, cp, w_raw, bias_raw, LAYOUT_ALIGNED);
    job.p.alpha = with_alpha ? buf_padded (alpha_raw, oc, cp, LAYOUT_ALIGNED)
        : NULL;
    bench_kernel (t, t->conv_name, flops, run_conv, &job);
  }
  bufs_free ();
}

typedef struct
{
  FvScanFn fn;
  FvScanF16Fn fn16;             /* used instead of fn when set */
  size_t n_rows, dim, stride, nq;
  const float *rows;
  const uint16_t *rows16;
  const float *q[FV_SCAN_MAX_QUERIES];
  float *scores;
} DotrowsJob;

static void
run_dotrows (const void *job)
{
  const DotrowsJob *j = job;

  if (j->fn16)
    j->fn16 (j->n_rows, j->dim, j->rows16, j->stride, j->nq, j->q,
        j->scores, j->n_rows);
  else
    j->fn (j->n_rows, j->dim, j->rows, j->stride, j->nq, j->q, j->scores,
        j->n_rows);
}

/* A gallery scan: nq queries against n_rows rows of dim floats (half
 * floats with @f16). */
static void
bench_dotrows (size_t n_rows, size_t dim, size_t nq, int f16)
{
  const double flops = 2.0 * (double) (n_rows * dim) * (double) nq;
  DotrowsJob job;
  char shape[128];

  snprintf (shape, sizeof shape, "%zu rows x %zu, %zu quer%s", n_rows, dim,
      nq, nq == 1 ? "y" : "ies");
  bench_header (f16 ? "dotrows f16" : "dotrows", shape, flops);
  job.n_rows = n_rows;
  job.dim = dim;
  job.nq = nq;
  job.stride = round_up (dim, FV_SCAN_ROW_ALIGN);
  job.rows = scan_rows (n_rows, dim, job.stride, LAYOUT_ALIGNED);
  job.rows16 = scan_rows_f16 (job.rows, n_rows * job.stride, LAYOUT_ALIGNED);
  for (size_t j = 0; j < nq; j++)
    job.q[j] = buf_random (dim, LAYOUT_ALIGNED);
  job.scores = buf_new (nq * n_rows, LAYOUT_ALIGNED);
  for (int i = 0; i < n_bench_tables; i++) {
    job.fn = bench_tables[i]->dotrows;
    job.fn16 = f16 ? bench_tables[i]->dotrows_f16 : NULL;
    bench_kernel (bench_tables[i], f16 ? bench_tables[i]->dotrows_f16_name
        : bench_tables[i]->dotrows_name, flops, run_dotrows, &job);
  }
  bufs_free ();
}

/* MobileFaceNet's and MTCNN's typical layers, on every level this CPU can
 * run. */
static int
bench (void)
{
  for (int isa = 0; isa < FV_ISA_COUNT; isa++) {
    const FvKernelTable *t = fv_kernel_table_get ((FvIsa) isa);

    if (t && fv_cpu_has_isa ((FvIsa) isa))
      bench_tables[n_bench_tables++] = t;
  }
  printf ("check-kernels --bench: median thread CPU time per call of %d "
      "samples (each >= %.0f ms of calls), one thread; speed-up over "
      "scalar\n", BENCH_SAMPLES, BENCH_MIN_NS * 1e-6);
  bench_gemm (28, 28, 128, 128, 1);
  bench_gemm (7, 7, 512, 128, 0);
  /* MobileFaceNet's 3x3 depthwise layers, each shape once. */
  bench_dwconv ("dwconv3x3", 56, 56, 64, 3, 1, 1, 1);
  bench_dwconv ("dwconv3x3", 56, 56, 128, 3, 2, 1, 1);
  bench_dwconv ("dwconv3x3", 28, 28, 128, 3, 1, 1, 1);
  bench_dwconv ("dwconv3x3", 28, 28, 256, 3, 2, 1, 1);
  bench_dwconv ("dwconv3x3", 14, 14, 256, 3, 1, 1, 1);
  bench_dwconv ("dwconv3x3", 14, 14, 512, 3, 2, 1, 1);
  bench_dwconv ("dwconv3x3", 7, 7, 256, 3, 1, 1, 1);
  bench_dwconv ("dwconv", 7, 7, 512, 7, 1, 0, 0);
  bench_conv (112, 112, 3, 64, 3, 2, 1, 1);
  bench_conv (48, 48, 3, 32, 3, 1, 0, 1);
  bench_dotrows (10000, 192, 1, 0);
  bench_dotrows (10000, 192, 1, 1);
  bench_dotrows (10000, 192, FV_SCAN_MAX_QUERIES, 0);
  bench_dotrows (10000, 192, FV_SCAN_MAX_QUERIES, 1);
  /* a gallery of 100k: DRAM, not cache */
  bench_dotrows (100000, 192, 1, 0);
  bench_dotrows (100000, 192, 1, 1);
  return 0;
}

/* ---- main -------------------------------------------------------------- */

static void
print_stats (const Stats * st)
{
  printf ("%-7s %-10s %-44s %5u cases  %s  (worst error %.3f of tolerance)\n",
      isa_name (st->isa), st->family, st->kernel, st->cases,
      st->failed ? "FAIL" : "ok  ", st->worst);
  if (st->failed)
    printf ("        %u failing case(s), see stderr\n", st->failed);
}

int
main (int argc, char **argv)
{
  const FvKernelTable *ref_t = fv_kernel_table_get (FV_ISA_SCALAR);
  unsigned levels = 0;
  int bench_mode = 0;

  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "-v") == 0) {
      verbose = 1;
    } else if (strcmp (argv[i], "--bench") == 0) {
      bench_mode = 1;
    } else {
      fprintf (stderr, "usage: check-kernels [-v] [--bench]\n");
      return 2;
    }
  }
  page_size = (size_t) sysconf (_SC_PAGESIZE);
  signal (SIGSEGV, on_crash);
  signal (SIGBUS, on_crash);
  signal (SIGILL, on_crash);
  signal (SIGFPE, on_crash);
  setvbuf (stdout, NULL, _IOLBF, 0);

#if defined(__x86_64__)
  if (!bench_mode && fv_cpu_has_isa (FV_ISA_AVX2)) {
    unsigned bad = check_f16_against_f16c ();

    printf ("f16     conversions against F16C: %s (%u mismatches)\n",
        bad ? "FAIL" : "ok", bad);
    total_failed += bad ? 1 : 0;
  }
#endif
  if (!ref_t) {
    fprintf (stderr, "check-kernels: no scalar kernel table\n");
    return 1;
  }
  if (bench_mode)
    return bench ();
  printf ("check-kernels: tolerance %g x (the sum of absolute terms)\n",
      (double) RTOL);
  for (int isa = 0; isa < FV_ISA_COUNT; isa++) {
    const FvKernelTable *t;
    Stats st;

    if (isa == FV_ISA_SCALAR)
      continue;
    t = fv_kernel_table_get ((FvIsa) isa);
    if (!t) {
      printf ("%-7s not built\n", isa_name (isa));
      continue;
    }
    if (!fv_cpu_has_isa ((FvIsa) isa)) {
      printf ("%-7s built, but this CPU cannot run it: skipped\n",
          isa_name (isa));
      continue;
    }
    levels++;
    rng_state = 0x12345678u + (uint32_t) isa;

    memset (&st, 0, sizeof st);
    st.isa = isa;
    st.family = "gemm";
    st.kernel = t->gemm_name;
    sweep_gemm (ref_t, t, &st);
    print_stats (&st);

    memset (&st, 0, sizeof st);
    st.isa = isa;
    st.family = "dwconv3x3";
    st.kernel = t->dwconv3x3_name;
    sweep_dwconv3x3 (ref_t, t, &st);
    print_stats (&st);

    memset (&st, 0, sizeof st);
    st.isa = isa;
    st.family = "dwconv";
    st.kernel = t->dwconv_name;
    sweep_dwconv (ref_t, t, &st);
    print_stats (&st);

    memset (&st, 0, sizeof st);
    st.isa = isa;
    st.family = "conv";
    st.kernel = t->conv_name;
    sweep_conv (ref_t, t, &st);
    print_stats (&st);

    memset (&st, 0, sizeof st);
    st.isa = isa;
    st.family = "maxpool";
    st.kernel = t->maxpool_name;
    sweep_maxpool (ref_t, t, &st);
    print_stats (&st);

    memset (&st, 0, sizeof st);
    st.isa = isa;
    st.family = "dotrows";
    st.kernel = t->dotrows_name;
    if (t->dotrows != ref_t->dotrows)
      sweep_dotrows (ref_t, t, 0, &st);
    print_stats (&st);

    memset (&st, 0, sizeof st);
    st.isa = isa;
    st.family = "dotrows";
    st.kernel = t->dotrows_f16_name;
    if (t->dotrows_f16 != ref_t->dotrows_f16)
      sweep_dotrows (ref_t, t, 1, &st);
    print_stats (&st);
  }
  if (total_failed) {
    printf ("check-kernels: FAILED (%u failing case(s))\n", total_failed);
    return 1;
  }
  printf ("check-kernels: PASS (%u SIMD level(s) checked against scalar)\n",
      levels);
  return 0;
}
