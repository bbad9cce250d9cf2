/* gst-faceverify: face verification on the CPU
 *
 * fv-bench-util.h: what `faceverify bench` and the programs in
 * tests/bench/ share: a monotonic clock, the thread's and the process's
 * CPU clocks, medians, a deterministic model input and the measured FMA
 * peak of one core.
 */
#ifndef FV_BENCH_UTIL_H
#define FV_BENCH_UTIL_H

#include <fv.h>

#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

G_BEGIN_DECLS

typedef struct
{
  double median, min, max;
} FvBenchStats;

static inline guint64
fv_bench_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * 1000000000u + (guint64) ts.tv_nsec;
}

/* Time this thread spent on a processor: on a shared machine, wall time
 * also counts the time other programs had the core. */
static inline guint64
fv_bench_thread_cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (guint64) ts.tv_sec * 1000000000u + (guint64) ts.tv_nsec;
}

/* The CPU time of the work of @n_threads threads: this thread's alone
 * when it works alone, else the whole process's (every worker's). */
static inline guint64
fv_bench_cpu_ns (guint n_threads)
{
  struct timespec ts;

  clock_gettime (n_threads > 1 ? CLOCK_PROCESS_CPUTIME_ID :
      CLOCK_THREAD_CPUTIME_ID, &ts);
  return (guint64) ts.tv_sec * 1000000000u + (guint64) ts.tv_nsec;
}

/* The CPU time of every thread of the process (getrusage: user + system),
 * for a pipeline whose elements run on threads of their own. */
static inline guint64
fv_bench_process_cpu_ns (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ((guint64) ru.ru_utime.tv_sec + (guint64) ru.ru_stime.tv_sec) *
      1000000000u + ((guint64) ru.ru_utime.tv_usec +
      (guint64) ru.ru_stime.tv_usec) * 1000u;
}

static inline int
fv_bench_cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* Median, minimum and maximum of the @n > 0 values of @v (left as is). */
static inline FvBenchStats
fv_bench_stats (const double *v, guint n)
{
  g_autofree double *s = (double *) g_memdup2 (v, n * sizeof (double));
  FvBenchStats st;

  qsort (s, n, sizeof (double), fv_bench_cmp_double);
  st.min = s[0];
  st.max = s[n - 1];
  st.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return st;
}

/* A deterministic input in the model's range, (p - 127.5) / 128. */
static inline void
fv_bench_fill_input (float *in, gsize n)
{
  guint32 x = 2463534242u;
  gsize i;

  for (i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    in[i] = ((float) (x % 256) - 127.5f) / 128.0f;
  }
}

/* The FMA peak of one core: FV_BENCH_PEAK_CHAINS independent
 * multiply-add chains (enough to cover the latency of two FMA pipes) at
 * the vector width of a level, timed on this thread's CPU clock so that
 * other programs on the machine do not lower it. */
#define FV_BENCH_PEAK_ITERS 1000000
#define FV_BENCH_PEAK_CHAINS 12

#define FV_BENCH_PEAK_LOOP(vtype, set1, fmadd, add, store, lanes) \
  G_STMT_START { \
    vtype a_[FV_BENCH_PEAK_CHAINS], x_ = set1 (0.999999f), y_ = set1 (1e-7f); \
    float sink_[lanes]; \
    guint64 t0_; \
    guint i_, j_; \
    for (j_ = 0; j_ < FV_BENCH_PEAK_CHAINS; j_++) \
      a_[j_] = set1 ((float) j_); \
    t0_ = fv_bench_thread_cpu_ns (); \
    for (i_ = 0; i_ < FV_BENCH_PEAK_ITERS; i_++) { \
      _Pragma ("GCC unroll 12") \
      for (j_ = 0; j_ < FV_BENCH_PEAK_CHAINS; j_++) \
        a_[j_] = fmadd (a_[j_], x_, y_); \
    } \
    t0_ = fv_bench_thread_cpu_ns () - t0_; \
    for (j_ = 1; j_ < FV_BENCH_PEAK_CHAINS; j_++) \
      a_[0] = add (a_[0], a_[j_]); \
    store (sink_, a_[0]); \
    return sink_[0] == 12345.0f || t0_ == 0 ? 0 : 2.0 * (lanes) \
        * FV_BENCH_PEAK_CHAINS * FV_BENCH_PEAK_ITERS / (double) t0_; \
  } G_STMT_END

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* *INDENT-OFF* */
static inline double fv_bench_peak_avx512 (void)
    __attribute__ ((target ("avx512f")));
static inline double fv_bench_peak_avx2 (void)
    __attribute__ ((target ("avx2,fma")));
/* *INDENT-ON* */

static inline double
fv_bench_peak_avx512 (void)
{
  FV_BENCH_PEAK_LOOP (__m512, _mm512_set1_ps, _mm512_fmadd_ps,
      _mm512_add_ps, _mm512_storeu_ps, 16);
}

static inline double
fv_bench_peak_avx2 (void)
{
  FV_BENCH_PEAK_LOOP (__m256, _mm256_set1_ps, _mm256_fmadd_ps,
      _mm256_add_ps, _mm256_storeu_ps, 8);
}
#elif defined(__aarch64__)
#include <arm_neon.h>

#define fv_bench_neon_fmadd(a, b, c) vfmaq_f32 ((c), (a), (b))

static inline double
fv_bench_peak_neon (void)
{
  FV_BENCH_PEAK_LOOP (float32x4_t, vdupq_n_f32, fv_bench_neon_fmadd,
      vaddq_f32, vst1q_f32, 4);
}
#endif

/* GFLOP/s of one core at level @isa (best of five short runs, in CPU
 * time); 0 where not measured (the scalar level). */
static inline double
fv_bench_fma_peak_gflops (FvIsa isa)
{
  double best = 0;
  guint i;

  for (i = 0; i < 5; i++) {
    double g = 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (isa == FV_ISA_AVX512)
      g = fv_bench_peak_avx512 ();
    else if (isa == FV_ISA_AVX2)
      g = fv_bench_peak_avx2 ();
#elif defined(__aarch64__)
    if (isa == FV_ISA_NEON)
      g = fv_bench_peak_neon ();
#else
    (void) isa;
#endif
    best = MAX (best, g);
  }
  return best;
}

G_END_DECLS

#endif /* FV_BENCH_UTIL_H */
