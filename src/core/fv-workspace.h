/* gst-faceverify: face verification on the CPU
 *
 * fv-workspace.h: the process-wide working memory of the nets. Included
 * by fv.h; use fv.h.
 *
 * A detector or an embedder needs its activations (and a detector its
 * canvas and candidate lists) only while it runs, and no more runs make
 * progress at once than there are cores. So instead of each instance
 * keeping that memory for its lifetime, the instances of a process borrow
 * it for the duration of a run from a few shared blocks: at most one
 * block per processor (at least 2) is lent at a time, and a thread that
 * finds them all lent waits until one is returned (a thread that holds
 * one already takes another at once, freed when returned). Blocks only
 * grow, to the largest size asked of them: once every instance has run
 * on frames of its size, borrowing allocates nothing. */
#ifndef FV_WORKSPACE_H
#define FV_WORKSPACE_H

#include "fv-prelude.h"

G_BEGIN_DECLS

FV_API gpointer fv_workspace_acquire (gsize size);
FV_API void fv_workspace_release (gpointer memory);
FV_API guint fv_workspace_get_n_blocks (void);
FV_API gsize fv_workspace_get_size (void);
FV_API guint fv_workspace_get_max_borrowers (void);

G_END_DECLS

#endif /* FV_WORKSPACE_H */
