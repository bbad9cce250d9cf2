/* gst-faceverify: a fixed set of worker threads for per-frame work
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#include "gstfvworkers.h"

struct _GstFvWorkers
{
  guint n;
  GThread **threads;
  GMutex lock;
  GCond start_cond;
  GCond done_cond;
  guint64 generation;           /* bumped for every run */
  guint pending;                /* workers still busy in this run */
  gboolean quit;

  GstFvWorkFunc func;
  gpointer user_data;
  guint n_items;
};

typedef struct
{
  GstFvWorkers *w;
  guint index;
} GstFvWorkerArg;

static void
gst_fv_workers_range (GstFvWorkers * w, guint index, guint * begin, guint * end)
{
  *begin = (guint) ((guint64) w->n_items * index / w->n);
  *end = (guint) ((guint64) w->n_items * (index + 1) / w->n);
}

static gpointer
gst_fv_worker_main (gpointer data)
{
  GstFvWorkerArg *arg = data;
  GstFvWorkers *w = arg->w;
  guint index = arg->index;
  guint64 seen = 0;

  g_free (arg);
  g_mutex_lock (&w->lock);
  for (;;) {
    guint begin, end;

    while (!w->quit && w->generation == seen)
      g_cond_wait (&w->start_cond, &w->lock);
    if (w->quit)
      break;
    seen = w->generation;
    gst_fv_workers_range (w, index, &begin, &end);
    g_mutex_unlock (&w->lock);

    if (begin < end)
      w->func (w->user_data, index, begin, end);

    g_mutex_lock (&w->lock);
    if (--w->pending == 0)
      g_cond_signal (&w->done_cond);
  }
  g_mutex_unlock (&w->lock);
  return NULL;
}

GstFvWorkers *
gst_fv_workers_new (guint n_workers)
{
  GstFvWorkers *w = g_new0 (GstFvWorkers, 1);
  guint i;

  w->n = MAX (n_workers, 1);
  g_mutex_init (&w->lock);
  g_cond_init (&w->start_cond);
  g_cond_init (&w->done_cond);
  w->threads = g_new0 (GThread *, w->n);
  for (i = 1; i < w->n; i++) {
    GstFvWorkerArg *arg = g_new (GstFvWorkerArg, 1);
    arg->w = w;
    arg->index = i;
    w->threads[i] = g_thread_new ("fv-worker", gst_fv_worker_main, arg);
  }
  return w;
}

void
gst_fv_workers_free (GstFvWorkers * w)
{
  guint i;

  if (!w)
    return;
  g_mutex_lock (&w->lock);
  w->quit = TRUE;
  g_cond_broadcast (&w->start_cond);
  g_mutex_unlock (&w->lock);
  for (i = 1; i < w->n; i++)
    g_thread_join (w->threads[i]);
  g_free (w->threads);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->start_cond);
  g_cond_clear (&w->done_cond);
  g_free (w);
}

guint
gst_fv_workers_get_n (GstFvWorkers * w)
{
  return w->n;
}

void
gst_fv_workers_run (GstFvWorkers * w, guint n_items, GstFvWorkFunc func,
    gpointer user_data)
{
  guint begin, end;

  if (n_items == 0)
    return;
  if (w->n == 1 || n_items == 1) {
    func (user_data, 0, 0, n_items);
    return;
  }

  g_mutex_lock (&w->lock);
  w->func = func;
  w->user_data = user_data;
  w->n_items = n_items;
  w->pending = w->n - 1;
  w->generation++;
  g_cond_broadcast (&w->start_cond);
  gst_fv_workers_range (w, 0, &begin, &end);
  g_mutex_unlock (&w->lock);

  if (begin < end)
    func (user_data, 0, begin, end);

  g_mutex_lock (&w->lock);
  while (w->pending > 0)
    g_cond_wait (&w->done_cond, &w->lock);
  g_mutex_unlock (&w->lock);
}
