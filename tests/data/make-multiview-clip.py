#!/usr/bin/env python3
"""Builds the multi-view test clip from the deepface photos with stock
GStreamer elements (gst-launch-1.0): each person appears in one shot, in
several views one after the other, the face kept at the same place so that
one track follows it: as photographed, turned (squeezed sideways),
smaller, darker and mirrored, and combinations.

Usage: make-multiview-clip.py SHARED_DIR OUT_DIR

Writes OUT_DIR/multiview.avi (MJPEG, 320x240, 10 fps) and
OUT_DIR/multiview.csv: one line per frame (frame, identity, raw, view).
Only this script is committed; the clip is made in the build tree.
"""
import csv
import os
import shutil
import subprocess
import sys

WIDTH, HEIGHT, FPS = 320, 240, 10
FRAMES_PER_VIEW = 3
# The people and the photo of each shown in the clip (the tests enrol the
# others), in the order of the shots.
SHOTS = [
    ("person01", "raw/person01/img6.jpg"),
    ("person03", "raw/person03/img47.jpg"),
    ("person05", "raw/person05/img16.jpg"),
    ("person10", "raw/person10/img26.jpg"),
    ("person02", "raw/person02/img3.jpg"),
    ("person11", "raw/person11/img29.jpg"),
]
# name: (scale, horizontal squeeze, brightness, contrast, mirrored); the
# views are weaker than the photo (on their own most are near or below the
# default match threshold) but not broken
VIEWS = [
    ("turned-darker", 1.0, 0.5, -0.2, 0.6, False),
    ("smaller-turned", 0.75, 0.6, 0.0, 1.0, False),
    ("photo", 1.0, 1.0, 0.0, 1.0, False),
    ("turned", 1.0, 0.45, 0.0, 1.0, False),
    ("smaller-turned-darker", 0.75, 0.6, -0.2, 0.6, False),
    ("turned-darker-mirrored", 1.0, 0.5, -0.2, 0.6, True),
    ("darker", 1.0, 1.0, -0.3, 0.5, False),
]
# the face's width in the frame, as photographed
FACE_WIDTH = 90


def face_rows(shared):
    rows = {}
    with open(os.path.join(shared, "data/faces/deepface/faces.csv")) as f:
        for r in csv.DictReader(f):
            rows[r["raw"]] = r
    return rows


def render_view(shared, row, view, out_png):
    """One frame of @row's photo in @view, the face centred, as PNG."""
    _, scale, squeeze, brightness, contrast, mirrored = view
    img_w, img_h = int(row["width"]), int(row["height"])
    bx, by = float(row["bbox_x"]), float(row["bbox_y"])
    bw, bh = float(row["bbox_w"]), float(row["bbox_h"])
    cx, cy = bx + bw / 2, by + bh / 2
    # the region of the photo that fills the frame (pads beyond the photo)
    zoom = FACE_WIDTH / bw
    rw, rh = WIDTH / zoom, HEIGHT / zoom
    left, top = int(round(cx - rw / 2)), int(round(cy - rh / 2))
    right = int(round(img_w - (cx + rw / 2)))
    bottom = int(round(img_h - (cy + rh / 2)))
    # scaled and squeezed, then padded back to the frame around the centre
    w = max(16, int(round(WIDTH * scale * squeeze)) // 2 * 2)
    h = max(16, int(round(HEIGHT * scale)) // 2 * 2)
    pl, pt = (WIDTH - w) // 2, (HEIGHT - h) // 2
    pr, pb = WIDTH - w - pl, HEIGHT - h - pt
    desc = [
        "filesrc", "location=" + os.path.join(shared, "data/faces/deepface",
                                               row["raw"]),
        "!", "jpegdec", "!", "videoconvert", "!", "video/x-raw,format=AYUV",
        "!", "videobox", "fill=black", "left=%d" % left, "right=%d" % right,
        "top=%d" % top, "bottom=%d" % bottom,
        "!", "videoscale", "!", "video/x-raw,width=%d,height=%d" % (w, h),
        "!", "videobox", "fill=black", "left=%d" % -pl, "right=%d" % -pr,
        "top=%d" % -pt, "bottom=%d" % -pb,
        "!", "videobalance", "brightness=%g" % brightness,
        "contrast=%g" % contrast,
        "!", "videoflip", "method=%s" % ("horizontal-flip" if mirrored
                                         else "none"),
        "!", "videoconvert", "!", "pngenc", "!", "filesink",
        "location=" + out_png,
    ]
    subprocess.run(["gst-launch-1.0", "-q"] + desc, check=True,
                   stdout=subprocess.DEVNULL)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    shared, out = sys.argv[1], sys.argv[2]
    rows = face_rows(shared)
    frames = os.path.join(out, "multiview-frames")
    shutil.rmtree(frames, ignore_errors=True)
    os.makedirs(frames)
    index = 0
    lines = []
    for identity, raw in SHOTS:
        for view in VIEWS:
            png = os.path.join(frames, "view-%s-%s.png" % (identity, view[0]))
            render_view(shared, rows[raw], view, png)
            for _ in range(FRAMES_PER_VIEW):
                shutil.copyfile(png, os.path.join(frames,
                                                  "frame%04d.png" % index))
                lines.append((index, identity, raw, view[0]))
                index += 1
    subprocess.run([
        "gst-launch-1.0", "-q", "multifilesrc",
        "location=" + os.path.join(frames, "frame%04d.png"), "index=0",
        "caps=image/png,framerate=%d/1" % FPS, "!", "pngdec", "!",
        "videoconvert", "!", "video/x-raw,format=I420", "!", "jpegenc",
        "quality=90", "!", "avimux", "!", "filesink",
        "location=" + os.path.join(out, "multiview.avi")],
        check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "multiview.csv"), "w") as f:
        f.write("frame,identity,raw,view\n")
        for line in lines:
            f.write("%d,%s,%s,%s\n" % line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
