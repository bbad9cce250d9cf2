/* gst-faceverify: face verification on the CPU
 *
 * fv-bench-util.h: what `faceverify bench` and the programs in
 * tests/bench/ share: a monotonic clock, medians and a deterministic model
 * input, and the thread's CPU clock.
 */
#ifndef FV_BENCH_UTIL_H
#define FV_BENCH_UTIL_H

#include <glib.h>

#include <stdlib.h>
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

G_END_DECLS

#endif /* FV_BENCH_UTIL_H */
