/* gst-faceverify: a fixed set of worker threads for per-frame work
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifndef GST_FV_WORKERS_H
#define GST_FV_WORKERS_H

#include <glib.h>

G_BEGIN_DECLS

/* Processes items [begin, end) on worker @worker (0 is the calling thread). */
typedef void (*GstFvWorkFunc) (gpointer user_data, guint worker,
    guint begin, guint end);

typedef struct _GstFvWorkers GstFvWorkers;

/* @n_workers includes the calling thread: 1 starts no thread. */
GstFvWorkers *gst_fv_workers_new (guint n_workers);
void gst_fv_workers_free (GstFvWorkers * workers);
guint gst_fv_workers_get_n (GstFvWorkers * workers);

/* Splits @n_items into contiguous ranges, one per worker, runs them and
 * returns when all are done. Allocates nothing. */
void gst_fv_workers_run (GstFvWorkers * workers, guint n_items,
    GstFvWorkFunc func, gpointer user_data);

G_END_DECLS

#endif /* GST_FV_WORKERS_H */
