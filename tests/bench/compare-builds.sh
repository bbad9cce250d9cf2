#!/bin/sh
# Runs bench-pipeline of an older commit and of this tree side by side, in
# one run on the same machine, alternating the two binaries round by round,
# and prints the median of the rounds for each row with the new/old ratio.
#
#   tests/bench/compare-builds.sh [--elements] OLD_COMMIT [-b BUILD_DIR] \
#       [-n ROUNDS] [-o OUT_DIR] [-- BENCH_ARGS...]
#
# --elements compares the plugins instead: tests/plugin/bench-elements of
# this tree (appsrc ! mtcnnfacedetect ! faceverify ! fakesink with each
# build's default properties) runs on the old build's plugin and on this
# tree's (--plugin-dir), with one gallery for both, and the script prints
# the process CPU per frame of each row, the per-face slope, the empty
# frame and their new/old ratios; only the plugin is built in the old tree.
#
# The old commit is checked out once as a detached git worktree in
# BUILD_DIR/compare-<commit> (default BUILD_DIR: build), with this tree's
# bench source (tests/bench/bench-pipeline.c, fv-bench-frames.h,
# tools/fv-bench-util.h)
# copied in, and only the bench and the library are built there. Both
# binaries use this tree's models (FV_MODEL_DIR) and data. The environment
# passes through: FV_CPU_MASK=avx2 measures both builds at the AVX2 level.
# The outputs of the rounds go to OUT_DIR (default BUILD_DIR/compare-out,
# emptied first).
set -eu

usage() {
  sed -n '2,25s/^# \{0,1\}//p' "$0"
  exit 2
}

# build_both OLD_TARGET NEW_TARGET...: sets up the old tree's build (a
# build set up before OLD_TARGET was added, by the other mode, is
# reconfigured so that it sees it), builds OLD_TARGET there and the
# NEW_TARGETs in this tree.
build_both() {
  old_target=$1
  shift
  [ -d "$oldsrc/build" ] || meson setup "$oldsrc/build" "$oldsrc" >/dev/null
  grep -q "$old_target" "$oldsrc/build/meson-info/intro-targets.json" ||
    meson setup --reconfigure "$oldsrc/build" "$oldsrc" >/dev/null
  meson compile -C "$oldsrc/build" "$old_target" >/dev/null
  meson compile -C "$build" "$@" >/dev/null
}

# run_rounds RUN ARGS...: RUN old|new ARGS... for each build, ROUNDS
# times, into OUT_DIR/old.I and new.I; the order alternates so that
# neither build always runs first.
run_rounds() {
  run=$1
  shift
  i=1
  while [ "$i" -le "$rounds" ]; do
    if [ $((i % 2)) -eq 1 ]; then order="old new"; else order="new old"; fi
    for which in $order; do
      "$run" "$which" "$@" >"$out/$which.$i"
    done
    i=$((i + 1))
  done
}

# One run of this tree's bench-elements on the plugin of build $1.
run_elements() {
  if [ "$1" = old ]; then dir=$oldsrc/build/plugin; else dir=$build/plugin; fi
  shift
  GST_REGISTRY_FORK=no "$build/tests/plugin/bench-elements" \
    --plugin-dir "$dir" --gallery "$out/gallery.db" "$@"
}

# One run of bench-pipeline of build $1.
run_pipeline() {
  if [ "$1" = old ]; then bin=$oldsrc/build/tests/bench/bench-pipeline
  else bin=$build/tests/bench/bench-pipeline; fi
  shift
  "$bin" --data "$data" "$@"
}

# --elements: this tree's bench-elements on each build's plugin, one
# gallery (made by the first run) for both.
compare_elements() {
  build_both gstfaceverify bench-elements gstfaceverify gst-stock-plugins
  run_rounds run_elements "$@"
  python3 - "$out" "$rounds" "$short" "$new" <<'PY'
import statistics, sys
out, rounds, old, new = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def read(which):
    rows, slopes, head = {}, {}, []
    for i in range(1, rounds + 1):
        for line in open(f"{out}/{which}.{i}"):
            f = line.split()
            if i == 1 and line.startswith("#"):
                head.append(line.rstrip())
            elif f and f[0] == "row":
                k = (f[1], f[2], int(f[3]))
                rows.setdefault(k, []).append(
                    (float(f[5]), float(f[7]), float(f[9]), float(f[11])))
            elif f and f[0] == "slope":
                slopes.setdefault((f[1], f[2]), []).append(
                    (float(f[4]), float(f[6])))
    med = lambda v, j: statistics.median(x[j] for x in v)
    return (head, {k: [med(v, j) for j in range(4)] for k, v in rows.items()},
            {k: [med(v, j) for j in range(2)] for k, v in slopes.items()})
(ho, ro, so), (hn, rn, sn) = read("old"), read("new")
for tag, h in (("old", ho), ("new", hn)):
    for line in h:
        print(f"{tag} {line}")
print(f"# old = {old}, new = {new}; median of {rounds} alternating rounds; "
      "ratio = new / old; found, named right and named wrong: faces per frame (steady state)")
r = lambda a, b: f"{b / a:6.2f}" if a > 0 else "     -"
print(f"{'size':9} {'bg':8} {'faces':>5} {'found o/n':>11} {'named o/n':>11} "
      f"{'wrong o/n':>9} {'cpu old':>8} {'cpu new':>8} {'ratio':>6}")
size = lambda k: [int(x) for x in k[0].split("x")]
for k in sorted(ro, key=lambda k: (size(k), k[1], k[2])):
    o, n = ro[k], rn.get(k, [0, 0, 0, 0])
    print(f"{k[0]:9} {k[1]:8} {k[2]:5} {o[0]:5.2f}/{n[0]:<5.2f} "
          f"{o[1]:5.2f}/{n[1]:<5.2f} {o[2]:4.2f}/{n[2]:<4.2f} "
          f"{o[3]:8.3f} {n[3]:8.3f} {r(o[3], n[3])}")
print("per added face and empty frame (ms of process CPU per frame):")
for k in sorted(so, key=lambda k: (size(k), k[1])):
    o, n = so[k], sn.get(k, [0, 0])
    print(f"{k[0]:9} {k[1]:8} per face {o[0]:.3f} -> {n[0]:.3f} "
          f"({r(o[0], n[0]).strip()})  empty {o[1]:.3f} -> {n[1]:.3f} "
          f"({r(o[1], n[1]).strip()})")
for k in sorted(so):
    if k[0] == "1280x720" and k in sn:
        print(f"issue 14, 720p {k[1]}: per face {r(so[k][0], sn[k][0]).strip()} "
              f"(goal <= 0.50), empty frame {r(so[k][1], sn[k][1]).strip()} "
              "(goal <= 0.60)")
PY
}

mode=pipeline
if [ "${1:-}" = --elements ]; then
  mode=elements
  shift
fi
[ $# -ge 1 ] || usage
old=$1
shift
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build
rounds=3
out=
while [ $# -gt 0 ]; do
  case $1 in
    -b) build=$(cd "$2" && pwd); shift 2 ;;
    -n) rounds=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done

short=$(git -C "$src" rev-parse --short "$old")
# This tree as built (uncommitted changes are marked).
new=$(git -C "$src" describe --always --dirty)
oldsrc=$build/compare-$short
if [ ! -d "$oldsrc" ]; then
  git -C "$src" worktree add --detach "$oldsrc" "$short" >/dev/null
  cp "$src"/models/*.tflite "$oldsrc"/models/ 2>/dev/null || true
fi
out=${out:-$build/compare-out}
rm -rf "$out"
mkdir -p "$out"
export FV_MODEL_DIR="$src/models"
if [ "$mode" = elements ]; then
  compare_elements "$@"
  exit 0
fi
cp "$src/tests/bench/bench-pipeline.c" "$src/tests/bench/fv-bench-frames.h" \
  "$oldsrc/tests/bench/"
cp "$src/tools/fv-bench-util.h" "$oldsrc/tools/"
if ! grep -q bench-pipeline "$oldsrc/tests/bench/meson.build"; then
  sed -n '/^# CPU time per frame of detection/,$p' \
    "$src/tests/bench/meson.build" >>"$oldsrc/tests/bench/meson.build"
fi
build_both bench-pipeline bench-pipeline

data="$src/../shared/data/faces/deepface"
run_rounds run_pipeline "$@"

python3 - "$out" "$rounds" "$short" "$new" <<'PY'
import statistics, sys
out, rounds, old, new = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def read(which):
    rows, slopes = {}, {}
    for i in range(1, rounds + 1):
        for line in open(f"{out}/{which}.{i}"):
            f = line.split()
            if f and f[0] == "row":
                k = (f[1], f[2], int(f[3]))
                rows.setdefault(k, []).append((int(f[4]), float(f[5]), float(f[6])))
            elif f and f[0] == "slope":
                k = (f[1], f[2])
                slopes.setdefault(k, []).append((float(f[4]), float(f[6]), float(f[8])))
    med = lambda v, j: statistics.median(x[j] for x in v)
    return ({k: [min(x[0] for x in v), med(v, 1), med(v, 2)] for k, v in rows.items()},
            {k: [med(v, j) for j in range(3)] for k, v in slopes.items()})
(ro, so), (rn, sn) = read("old"), read("new")
print(open(f"{out}/new.1").readline().rstrip())
print(f"# old = {old}, new = {new}; median of {rounds} alternating rounds; "
      "ratio = new / old")
print(f"{'size':9} {'bg':8} {'faces':>5} {'found o/n':>9} "
      f"{'det old':>8} {'det new':>8} {'ratio':>6} "
      f"{'ver old':>8} {'ver new':>8} {'ratio':>6}")
r = lambda a, b: f"{b / a:6.2f}" if a > 0 else "     -"
for k in sorted(ro, key=lambda k: (k[0], k[1], k[2])):
    o, n = ro[k], rn.get(k, [0, 0, 0])
    print(f"{k[0]:9} {k[1]:8} {k[2]:5} {o[0]:>4}/{n[0]:<4} "
          f"{o[1]:8.3f} {n[1]:8.3f} {r(o[1], n[1])} "
          f"{o[2]:8.3f} {n[2]:8.3f} {r(o[2], n[2])}")
print("per added face (ms; slope over 0, 1, 4, 8 faces):")
for k in sorted(so):
    o, n = so[k], sn.get(k, [0, 0, 0])
    print(f"{k[0]:9} {k[1]:8} detect {o[0]:.3f} -> {n[0]:.3f} ({r(o[0], n[0]).strip()})"
          f"  verify {o[1]:.3f} -> {n[1]:.3f} ({r(o[1], n[1]).strip()})"
          f"  per face {o[2]:.3f} -> {n[2]:.3f} ({r(o[2], n[2]).strip()})")
PY
