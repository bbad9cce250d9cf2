/* The detector's candidate lists (fv-detector.c): keeping the best, sorting
 * and non-maximum suppression in place, without memory of their own, and
 * the box adjustments between the stages of the cascade. */
#include "fv-face-private.h"

static inline void
cand_swap (FvCand * a, FvCand * b)
{
  FvCand t = *a;
  *a = *b;
  *b = t;
}

/* Min-heap on score, for keeping the best cells of a level. */
static void
heap_down (FvCand * h, guint n, guint i)
{
  for (;;) {
    guint l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && h[l].score < h[m].score)
      m = l;
    if (r < n && h[r].score < h[m].score)
      m = r;
    if (m == i)
      return;
    cand_swap (&h[i], &h[m]);
    i = m;
  }
}

void
fv_cands_heap_push (FvCand * h, guint * n, guint cap, const FvCand * c)
{
  guint i;

  if (*n == cap) {
    if (c->score <= h[0].score)
      return;
    h[0] = *c;
    heap_down (h, *n, 0);
    return;
  }
  i = (*n)++;
  h[i] = *c;
  while (i > 0 && h[(i - 1) / 2].score > h[i].score) {
    cand_swap (&h[i], &h[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
}

/* In-place heapsort, best score first; needs no memory (unlike qsort). */
void
fv_cands_sort (FvCand * c, guint n)
{
  guint i;

  if (n < 2)
    return;
  for (i = n / 2; i-- > 0;)
    heap_down (c, n, i);
  for (i = n - 1; i > 0; i--) {
    cand_swap (&c[0], &c[i]);
    heap_down (c, i, 0);
  }
}

/* Greedy non-maximum suppression on a list sorted best first; keeps the
 * survivors in order at the front and returns their number. Overlap is
 * intersection over union, or over the smaller box in "min" mode; areas
 * count pixels inclusively, as in the original MTCNN. */
guint
fv_cands_nms (FvCand * c, guint n, float thr, gboolean min_mode, guint8 * dead)
{
  guint i, j, kept = 0;

  memset (dead, 0, n);
  for (i = 0; i < n; i++) {
    float ai;
    if (dead[i])
      continue;
    ai = (c[i].x2 - c[i].x1 + 1) * (c[i].y2 - c[i].y1 + 1);
    for (j = i + 1; j < n; j++) {
      float w, h, inter, aj, ov;
      if (dead[j])
        continue;
      w = MIN (c[i].x2, c[j].x2) - MAX (c[i].x1, c[j].x1) + 1;
      h = MIN (c[i].y2, c[j].y2) - MAX (c[i].y1, c[j].y1) + 1;
      if (w <= 0 || h <= 0)
        continue;
      inter = w * h;
      aj = (c[j].x2 - c[j].x1 + 1) * (c[j].y2 - c[j].y1 + 1);
      ov = min_mode ? inter / MIN (ai, aj) : inter / (ai + aj - inter);
      if (ov > thr)
        dead[j] = 1;
    }
    if (kept != i)
      c[kept] = c[i];
    kept++;
  }
  return kept;
}

void
fv_cand_regress (FvCand * c, const float *reg)
{
  float w = c->x2 - c->x1 + 1, h = c->y2 - c->y1 + 1;

  c->x1 += reg[0] * w;
  c->y1 += reg[1] * h;
  c->x2 += reg[2] * w;
  c->y2 += reg[3] * h;
}

void
fv_cand_square (FvCand * c)
{
  float w = c->x2 - c->x1, h = c->y2 - c->y1, s = MAX (w, h);

  c->x1 = c->x1 + w * 0.5f - s * 0.5f;
  c->y1 = c->y1 + h * 0.5f - s * 0.5f;
  c->x2 = c->x1 + s;
  c->y2 = c->y1 + s;
}
