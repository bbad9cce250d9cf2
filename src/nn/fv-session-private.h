/* What fv-session.c and fv-session-plan.c share: the session and its
 * steps. */
#ifndef FV_SESSION_PRIVATE_H
#define FV_SESSION_PRIVATE_H

#include "fv-nn.h"
#include "core/fv-threadpool.h"

G_BEGIN_DECLS

/* Larger plans are refused with an error: they are a mistake or a hostile
 * file, and the allocation would abort. MobileFaceNet needs 2.4 MB per
 * image, P-Net about 120 MB for a 1080p frame. */
#define MAX_ARENA_BYTES ((gsize) 4 << 30)

typedef struct
{
  const FvLayer *layer;
  const float *x, *y;           /* y: second operand or residual */
  gboolean x_const, y_const;
  float *out;
  FvShape xs, ys, os;           /* shapes at the maximum batch */
  gsize rows_per_image;         /* work units per image */
  gsize row_len;                /* channels for row-wise ops */
  gsize x_img, y_img, out_img;  /* floats per image; 0 for constants */
  guint64 macs;                 /* multiply-adds per image */
  const char *kernel;           /* kernel name, NULL for generic ops */
  const FvLayer *pool;          /* a max pool fused into this conv, or NULL */
  const FvLayer *sibling;       /* a GEMM computed with this one, or NULL */
  float *w_pair;                /* then both layers' weights in one panel */
  guint64 prof_ns;
  guint64 prof_clock_ns;        /* the timer calls' own share of prof_ns */
  union
  {
    FvGemmParams gemm;
    FvConvParams conv;
    FvDwconvParams dw;
    FvPoolParams pool;
  } p;
} FvStep;

struct _FvSession
{
  FvModel *model;
  guint max_batch, height, width;
  FvShape *shapes;
  gsize *offsets;               /* in floats, per tensor */
  float *arena;
  gsize arena_floats;
  FvStep *steps;
  guint n_steps;
  FvThreadPool *pool;           /* NULL when running on one thread */
  guint n_threads;
  gboolean pinned;              /* input and outputs have their own memory */
  gboolean borrowed;            /* the arena belongs to another session */
  /* Sessions of one image for threads 1..n-1, which run whole images of
   * a batch while thread 0 runs others in this session. */
  FvSession **lanes;
  gboolean profiling;
  guint64 prof_runs, prof_images;
  /* What reading each clock costs: a timed step includes one reading. */
  guint64 clock_cpu_ns, clock_wall_ns;
};

/* Where activation @t lies in the arena; %NULL while an unbound session
 * has none (the steps are resolved again by fv_session_bind_arena()), as
 * an offset from a null pointer is undefined. */
static inline float *
fv_session_arena_ptr (FvSession * s, int t)
{
  return s->arena ? s->arena + s->offsets[t] : NULL;
}

gboolean fv_session_plan (FvSession * s, gboolean pin_io, GError ** error);
void fv_session_setup_step (FvSession * s, FvStep * st, const FvLayer * l);
void fv_session_steps_free (FvStep * steps, guint n);

G_END_DECLS
#endif /* FV_SESSION_PRIVATE_H */
