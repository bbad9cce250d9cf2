#!/usr/bin/python3
"""The demo behind examples/demo.sh (run that; it sets up everything first).

Photos mode (the default):
  1. enrolls some of the people in the demo photos into a new gallery with
     the command line (`faceverify detect --align-out`, then
     `faceverify enroll --aligned --dir`), as listed in people.csv;
  2. plays a video made of the photos, each shown in several changed views
     (stock videoflip, videoscale and videobalance), through
         mtcnnfacedetect ! faceverify ! videoscale ! faceverifyoverlay
  3. writes the annotated video (annotated.avi), one annotated PNG per shot
     (frames/), a JSON-lines file with one record per face per frame
     (faces.jsonl) and summary.json, and prints a summary table.

Camera mode (--camera /dev/videoN): the same elements on a live camera, in a
window, with the gallery of the photos mode; --enroll NAME adds the person
in front of the camera to it through faceverify's "enroll" action signal.

Needs Debian's python3-gi, gir1.2-gstreamer-1.0, gir1.2-gst-plugins-base-1.0
and the plugin on GST_PLUGIN_PATH (demo.sh sets that up).
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import GLib, Gst, GstApp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

CANVAS_W, CANVAS_H = 1280, 960      # every photo is letterboxed to this
OUT_W, OUT_H = 960, 720             # annotated output size
FPS = 5
FRAME_NS = Gst.SECOND // FPS

# The changed views: each photo is shown in each of these. The gallery was
# made from the original photos, so nothing here is what was enrolled.
VIEWS = [
    {"name": "mirror", "flip": "horizontal-flip", "size": (1280, 960),
     "brightness": 0.0, "contrast": 1.0, "saturation": 1.0},
    {"name": "small-dark", "flip": "none", "size": (640, 480),
     "brightness": -0.25, "contrast": 1.0, "saturation": 1.0},
    {"name": "mirror-bright-pale", "flip": "horizontal-flip",
     "size": (960, 720), "brightness": 0.2, "contrast": 0.85,
     "saturation": 0.5},
    {"name": "grey-low-contrast", "flip": "none", "size": (1024, 768),
     "brightness": 0.0, "contrast": 0.7, "saturation": 0.0},
]


def log(msg):
    print("demo: " + msg, flush=True)


def fail(msg):
    print("demo: error: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


def check_elements():
    missing = [e for e in ("mtcnnfacedetect", "faceverify",
                           "faceverifyoverlay", "videoflip", "videobalance",
                           "videoscale", "appsrc", "jpegenc", "avimux",
                           "pngenc", "jpegdec", "faceverifypublish")
               if Gst.ElementFactory.find(e) is None]
    if missing:
        fail("GStreamer elements not found: %s (GST_PLUGIN_PATH=%s); run "
             "examples/demo.sh, which builds the plugin and sets the path"
             % (", ".join(missing), os.environ.get("GST_PLUGIN_PATH", "")))


def load_people(path):
    with open(path, encoding="utf-8") as f:
        rows = [line for line in f if not line.startswith("#")]
    people = []
    for r in csv.DictReader(rows):
        r["x"] = float(r["x"])
        r["y"] = float(r["y"])
        people.append(r)
    return people


def match_person(people, photo, cx, cy, half_w, half_h):
    """The listed face of @photo whose centre lies in the box centred on
    (cx, cy), nearest first; None when there is none."""
    best, best_d = None, None
    for p in people:
        if p["photo"] != photo:
            continue
        dx, dy = p["x"] - cx, p["y"] - cy
        if abs(dx) > half_w or abs(dy) > half_h:
            continue
        d = dx * dx + dy * dy
        if best is None or d < best_d:
            best, best_d = p, d
    return best


# --- 1. enrollment ----------------------------------------------------------

def enroll(args, people, photos):
    crops = os.path.join(args.out, "crops")
    enroll_dir = os.path.join(args.out, "enroll")
    for d in (crops, enroll_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(args.gallery + suffix)
        except FileNotFoundError:
            pass

    det = run([args.faceverify, "detect", "--align-out", crops] + photos,
              capture_output=True, text=True)
    counter = {}
    enrolled = {}
    for r in csv.DictReader(det.stdout.splitlines()):
        photo = os.path.basename(r["path"])
        stem = os.path.splitext(photo)[0]
        n = counter.get(stem, 0)
        counter[stem] = n + 1
        x1, y1, x2, y2 = (float(r[k]) for k in ("x1", "y1", "x2", "y2"))
        p = match_person(people, photo, (x1 + x2) / 2, (y1 + y2) / 2,
                         (x2 - x1) / 2, (y2 - y1) / 2)
        if p is None or p["role"] != "enroll":
            continue
        dst = os.path.join(enroll_dir, p["person"])
        os.makedirs(dst, exist_ok=True)
        shutil.copy(os.path.join(crops, "%s_%d.png" % (stem, n)),
                    os.path.join(dst, stem + ".png"))
        enrolled[p["person"]] = photo
    wanted = {p["person"] for p in people if p["role"] == "enroll"}
    if set(enrolled) != wanted:
        fail("faceverify detect did not find the faces of: %s"
             % ", ".join(sorted(wanted - set(enrolled))))
    run([args.faceverify, "enroll", "--gallery", args.gallery, "--aligned",
         "--dir", enroll_dir], capture_output=True)
    log("enrolled %d people, one photo each: %s" % (len(enrolled), ", ".join(
        "%s (%s)" % (k, enrolled[k]) for k in sorted(enrolled))))
    never = sorted({p["person"] for p in people if p["role"] == "never"})
    log("never enrolled: %d faces of %d people" % (
        sum(p["role"] == "never" for p in people), len(never)))


# --- 2. the video ------------------------------------------------------------

def decode_photo(path):
    """The photo letterboxed into the canvas as RGB bytes, and where it went
    (scale, x offset, y offset)."""
    p = Gst.parse_launch(
        "filesrc name=src ! jpegdec name=dec ! videoconvert ! "
        "videoscale add-borders=true ! video/x-raw,format=RGB,width=%d,"
        "height=%d,pixel-aspect-ratio=1/1 ! appsink name=sink sync=false"
        % (CANVAS_W, CANVAS_H))
    p.get_by_name("src").set_property("location", path)
    p.set_state(Gst.State.PLAYING)
    sample = p.get_by_name("sink").emit("pull-sample")
    if sample is None:
        p.set_state(Gst.State.NULL)
        fail("cannot decode " + path)
    caps = p.get_by_name("dec").get_static_pad("src").get_current_caps()
    s = caps.get_structure(0)
    w, h = s.get_value("width"), s.get_value("height")
    buf = sample.get_buffer()
    data = buf.extract_dup(0, buf.get_size())
    p.set_state(Gst.State.NULL)
    scale = min(CANVAS_W / w, CANVAS_H / h)
    return data, (scale, (CANVAS_W - w * scale) / 2, (CANVAS_H - h * scale) / 2)


class PhotoDemo:
    def __init__(self, args, people, photos):
        self.args = args
        self.people = people
        self.photos = photos
        self.frames = [decode_photo(p) for p in photos]
        self.shots = [(v, i) for v in VIEWS for i in range(len(photos))]
        self.per_shot = args.frames_per_shot
        self.n_frames = len(self.shots) * self.per_shot
        self.next_frame = 0
        self.current_view = None
        self.records = {}            # frame -> list of face structures
        self.analysis_ns = 0
        self.t_in = 0
        self.error = None
        self.events = os.path.join(args.out, "events.jsonl")

    def shot_of(self, pts):
        frame = int((pts + FRAME_NS // 2) // FRAME_NS)
        return frame, frame // self.per_shot

    # appsrc's need-data: push the next frame or end the stream
    def on_need_data(self, src, _length):
        if self.next_frame >= self.n_frames:
            src.emit("end-of-stream")
            return
        view, photo = self.shots[self.next_frame // self.per_shot]
        buf = Gst.Buffer.new_wrapped(self.frames[photo][0])
        buf.pts = self.next_frame * FRAME_NS
        buf.duration = FRAME_NS
        self.next_frame += 1
        src.emit("push-buffer", buf)

    # Runs in the streaming thread just before a frame reaches the view
    # elements, so the view changes exactly at the shot boundary.
    def on_frame_in(self, _pad, info):
        buf = info.get_buffer()
        _, shot = self.shot_of(buf.pts)
        view = self.shots[shot][0]
        if view is not self.current_view:
            self.current_view = view
            self.flip.set_property("method", view["flip"])
            self.size.set_property("caps", Gst.Caps.from_string(
                "video/x-raw,width=%d,height=%d,pixel-aspect-ratio=1/1"
                % view["size"]))
            for k in ("brightness", "contrast", "saturation"):
                self.balance.set_property(k, view[k])
        return Gst.PadProbeReturn.OK

    def on_analysis_in(self, _pad, _info):
        self.t_in = time.monotonic_ns()
        return Gst.PadProbeReturn.OK

    def on_analysis_out(self, _pad, _info):
        self.analysis_ns += time.monotonic_ns() - self.t_in
        return Gst.PadProbeReturn.OK

    # only the last frame of each shot becomes a PNG
    def on_png_in(self, _pad, info):
        frame, _ = self.shot_of(info.get_buffer().pts)
        if frame % self.per_shot != self.per_shot - 1:
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    def run(self):
        a = self.args
        frames_dir = os.path.join(a.out, "frames")
        shutil.rmtree(frames_dir, ignore_errors=True)
        os.makedirs(frames_dir)
        desc = (
            "appsrc name=src format=time caps=video/x-raw,format=RGB,"
            "width={cw},height={ch},framerate={fps}/1,pixel-aspect-ratio=1/1 "
            "! videoflip name=flip ! videoscale ! capsfilter name=size "
            "! videobalance name=balance ! videoconvert "
            "! mtcnnfacedetect name=detect threads={t} "
            "! faceverify name=verify gallery-file=\"{gallery}\" "
            "updates=every-frame threads={t} "
            "! videoscale ! video/x-raw,width={ow},height={oh},"
            "pixel-aspect-ratio=1/1 "
            "! faceverifypublish name=publish camera=demo "
            "location=\"file://{events}\" "
            "! videoconvert ! video/x-raw,format=BGRx "
            "! faceverifyoverlay draw-landmarks=true ! videoconvert ! tee name=t "
            "t. ! queue ! jpegenc quality=85 ! avimux "
            "! filesink location=\"{avi}\" "
            "t. ! queue ! pngenc name=png compression-level=1 "
            "! multifilesink location=\"{frames}/shot-%02d.png\""
        ).format(cw=CANVAS_W, ch=CANVAS_H, fps=FPS, t=a.threads,
                 gallery=a.gallery, ow=OUT_W, oh=OUT_H,
                 avi=os.path.join(a.out, "annotated.avi"), frames=frames_dir,
                 events=self.events)
        # faceverifypublish appends: one run, one file
        if os.path.exists(self.events):
            os.remove(self.events)
        pipeline = Gst.parse_launch(desc)
        self.flip = pipeline.get_by_name("flip")
        self.size = pipeline.get_by_name("size")
        self.balance = pipeline.get_by_name("balance")
        src = pipeline.get_by_name("src")
        src.connect("need-data", self.on_need_data)
        src.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER,
                                            self.on_frame_in)
        pipeline.get_by_name("detect").get_static_pad("sink").add_probe(
            Gst.PadProbeType.BUFFER, self.on_analysis_in)
        pipeline.get_by_name("verify").get_static_pad("src").add_probe(
            Gst.PadProbeType.BUFFER, self.on_analysis_out)
        pipeline.get_by_name("png").get_static_pad("sink").add_probe(
            Gst.PadProbeType.BUFFER, self.on_png_in)
        verify = pipeline.get_by_name("verify")

        loop = GLib.MainLoop()
        bus = pipeline.get_bus()
        bus.add_signal_watch()

        def on_message(_bus, msg):
            if msg.type == Gst.MessageType.ELEMENT and msg.src == verify:
                s = msg.get_structure()
                if s.get_name() == "face-identity":
                    frame, _ = self.shot_of(s.get_value("timestamp"))
                    faces = s.get_value("faces")
                    self.records[frame] = [faces[i] for i in range(len(faces))]
            elif msg.type == Gst.MessageType.ERROR:
                err, dbg = msg.parse_error()
                self.error = "%s (%s)" % (err.message, dbg)
                loop.quit()
            elif msg.type == Gst.MessageType.EOS:
                loop.quit()

        bus.connect("message", on_message)
        log("playing %d frames: %d photos x %d views (%s), %d frames each, "
            "through mtcnnfacedetect ! faceverify ! faceverifyoverlay" % (
                self.n_frames, len(self.photos), len(VIEWS),
                ", ".join(v["name"] for v in VIEWS), self.per_shot))
        t0 = time.monotonic()
        pipeline.set_state(Gst.State.PLAYING)
        loop.run()
        self.wall = time.monotonic() - t0
        pipeline.set_state(Gst.State.NULL)
        bus.remove_signal_watch()
        if self.error:
            fail("pipeline: " + self.error)
        with open(self.events, encoding="utf-8") as f:
            kinds = [json.loads(line)["event"] for line in f]
        log("events: %d JSON lines from faceverifypublish in %s (%s)" % (
            len(kinds), self.events, ", ".join(
                "%d %s" % (kinds.count(k), k)
                for k in ("appeared", "identified", "left"))))
        # name the PNGs after their shots
        for shot, (view, photo) in enumerate(self.shots):
            old = os.path.join(frames_dir, "shot-%02d.png" % shot)
            stem = os.path.splitext(os.path.basename(self.photos[photo]))[0]
            if os.path.exists(old):
                os.rename(old, os.path.join(frames_dir, "%02d-%s-%s.png" % (
                    shot, view["name"], stem)))

    # --- 3. results ----------------------------------------------------------

    def truth_of(self, view, photo, face):
        """The listed face a detection (in the view's pixels) belongs to."""
        scale, ox, oy = self.frames[photo][1]
        vw, vh = view["size"]
        sx, sy = CANVAS_W / vw, CANVAS_H / vh
        cx = (face["x"] + face["width"] / 2) * sx
        cy = (face["y"] + face["height"] / 2) * sy
        if view["flip"] == "horizontal-flip":
            cx = CANVAS_W - cx
        return match_person(self.people, os.path.basename(self.photos[photo]),
                            (cx - ox) / scale, (cy - oy) / scale,
                            face["width"] / 2 * sx / scale,
                            face["height"] / 2 * sy / scale)

    @staticmethod
    def verdict(truth, label, known):
        if truth is not None and truth["role"] in ("enroll", "same"):
            if known and label == truth["person"]:
                return "right"
            return "wrong" if known else "missed"
        return "called-known" if known else "unknown"

    def evaluate(self):
        a = self.args
        rows = {v["name"]: {"shots": 0, "enrolled": 0, "right": 0, "wrong": 0,
                            "missed": 0, "never": 0, "never_unknown": 0,
                            "never_known": 0, "other": 0, "other_known": 0,
                            "detections": 0}
                for v in VIEWS}
        expected = sum(p["role"] in ("enroll", "same") for p in self.people)
        n_records = 0
        problems = []
        # every face record, not only the shots' last frames
        per_frame = {"right": 0, "wrong": 0, "missed": 0, "unknown": 0,
                     "called-known": 0, "errors_after_first_frame": 0}
        with open(os.path.join(a.out, "faces.jsonl"), "w",
                  encoding="utf-8") as out:
            for frame in range(self.n_frames):
                shot = frame // self.per_shot
                view, photo = self.shots[shot]
                last = frame % self.per_shot == self.per_shot - 1
                r = rows[view["name"]]
                r["shots"] += last
                for face in self.records.get(frame, []):
                    f = {k: face.get_value(k) for k in (
                        "roi-id", "track-id", "x", "y", "width", "height",
                        "label", "label-id", "similarity", "known")}
                    truth = self.truth_of(view, photo, f)
                    v = self.verdict(truth, f["label"], f["known"])
                    rec = {
                        "frame": frame, "time": frame / FPS, "shot": shot,
                        "view": view["name"],
                        "photo": os.path.basename(self.photos[photo]),
                        "roi_id": f["roi-id"], "track_id": f["track-id"],
                        "box": [f["x"], f["y"], f["width"], f["height"]],
                        "label": f["label"], "label_id": f["label-id"],
                        "known": f["known"],
                        "similarity": round(f["similarity"], 4),
                        "truth": truth["person"] if truth else None,
                        "role": truth["role"] if truth else "unlisted",
                        "verdict": v, "decision": last,
                    }
                    out.write(json.dumps(rec) + "\n")
                    n_records += 1
                    r["detections"] += 1
                    per_frame[v] += 1
                    if (v in ("wrong", "missed", "called-known")
                            and frame % self.per_shot != 0):
                        per_frame["errors_after_first_frame"] += 1
                    if not last:
                        continue
                    if truth is None:
                        r["other"] += 1
                        r["other_known"] += v == "called-known"
                    elif truth["role"] == "never":
                        r["never"] += 1
                        r["never_unknown"] += v == "unknown"
                        r["never_known"] += v == "called-known"
                    else:
                        r["enrolled"] += 1
                        r[v] += 1
                    if v in ("wrong", "missed", "called-known"):
                        problems.append("%s: %s in %s (%s) came out %s %.2f" % (
                            v, truth["person"] if truth else "an unlisted face",
                            rec["photo"], view["name"], f["label"],
                            f["similarity"]))
        total = {k: sum(r[k] for r in rows.values())
                 for k in next(iter(rows.values()))}
        summary = {
            "frames": self.n_frames, "frames_per_shot": self.per_shot,
            "views": [v["name"] for v in VIEWS],
            "photos": [os.path.basename(p) for p in self.photos],
            "enrolled_expected": expected * len(VIEWS),
            "face_records": n_records,
            "seconds": round(self.wall, 3),
            "fps": round(self.n_frames / self.wall, 2),
            "analysis_seconds": round(self.analysis_ns / 1e9, 3),
            "analysis_fps": round(self.n_frames / (self.analysis_ns / 1e9), 2),
            "per_view": rows, "total": total, "per_frame": per_frame,
            "problems": problems,
        }
        with open(os.path.join(a.out, "summary.json"), "w",
                  encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
        # the same numbers as "key value" lines, for the tests (C++)
        with open(os.path.join(a.out, "summary.txt"), "w",
                  encoding="utf-8") as f:
            for k in ("frames", "enrolled_expected", "face_records",
                      "seconds", "fps", "analysis_fps"):
                f.write("%s %s\n" % (k, summary[k]))
            for name, r in list(rows.items()) + [("total", total)]:
                for k, v in r.items():
                    f.write("%s.%s %s\n" % (name, k, v))
            for k, v in per_frame.items():
                f.write("per_frame.%s %s\n" % (k, v))
        return summary


def print_summary(s, out):
    print()
    print("Summary: each shot is one photo in one changed view (%d frames); a "
          "face's result is its label on the shot's last frame." %
          s["frames_per_shot"])
    print()
    print("%-20s %6s   %-33s   %-25s   %s" % (
        "", "faces", "enrolled people", "never enrolled", "other"))
    print("%-20s %6s   %5s %6s %6s %7s   %5s %8s %6s   %5s %6s" % (
        "view", "seen", "seen", "right", "wrong", "unknown", "seen",
        "unknown", "known", "seen", "known"))
    rows = list(s["per_view"].items()) + [("all views", s["total"])]
    for name, r in rows:
        if name == "all views":
            print("-" * 98)
        print("%-20s %6d   %5d %6d %6d %7d   %5d %8d %6d   %5d %6d" % (
            name, r["detections"], r["enrolled"], r["right"], r["wrong"],
            r["missed"], r["never"], r["never_unknown"], r["never_known"],
            r["other"], r["other_known"]))
    t = s["total"]
    print()
    print("faces seen: %d face records in %d frames (faces.jsonl); enrolled "
          "faces found in the changed views: %d of %d" % (
              s["face_records"], s["frames"], t["enrolled"],
              s["enrolled_expected"]))
    pf = s["per_frame"]
    print("every frame (%d face records): enrolled faces right %d, wrong %d, "
          "unknown %d; other faces unknown %d, called known %d; %d of the "
          "wrong/unknown/called-known records are not on a shot's first "
          "frame" % (s["face_records"], pf["right"], pf["wrong"], pf["missed"],
                     pf["unknown"], pf["called-known"],
                     pf["errors_after_first_frame"]))
    print("speed: %d frames in %.1f s = %.1f fps for the whole pipeline "
          "(with PNG and AVI encoding); detection + verification alone: "
          "%.1f fps" % (s["frames"], s["seconds"], s["fps"], s["analysis_fps"]))
    # A run that finds (almost) nobody proves nothing: at least 80 % of the
    # enrolled faces must be found in the changed views.
    found_enough = t["enrolled"] >= 0.8 * s["enrolled_expected"]
    ok = (found_enough and t["wrong"] == 0 and t["missed"] == 0
          and t["never_known"] == 0 and t["other_known"] == 0)
    if not found_enough:
        s["problems"].append("only %d of %d enrolled faces were found" % (
            t["enrolled"], s["enrolled_expected"]))
    print("result: %s" % (
        "every enrolled face found was recognised as the right person, and "
        "no other face was called known" if ok else
        "PROBLEMS:\n  " + "\n  ".join(s["problems"])))
    print("outputs: %s/ (annotated.avi, frames/*.png, faces.jsonl, "
          "summary.json, gallery.db)" % out)
    return ok


# --- camera mode -------------------------------------------------------------

def camera(args):
    if not os.path.exists(args.gallery):
        log("no gallery at %s yet: run the photos demo first, or use "
            "--enroll NAME to start one" % args.gallery)
    desc = ("v4l2src device=\"{dev}\" ! videoconvert ! "
            "mtcnnfacedetect min-face-size=60 threads={t} ! "
            "faceverify name=verify gallery-file=\"{g}\" threads={t} "
            "updates=every-frame ! faceverifypublish camera=camera "
            "location=\"file://{events}\" ! videoconvert ! "
            "faceverifyoverlay draw-landmarks=true ! videoconvert ! "
            "autovideosink sync=false").format(
                dev=args.camera, g=args.gallery, t=args.threads,
                events=os.path.join(args.out, "events.jsonl"))
    log("camera: gst-launch-1.0 " + desc)
    pipeline = Gst.parse_launch(desc)
    verify = pipeline.get_by_name("verify")
    loop = GLib.MainLoop()
    state = {"single": 0, "enrolled": args.enroll is None, "error": None,
             "last": None}

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.ELEMENT and msg.src == verify:
            s = msg.get_structure()
            if s.get_name() != "face-identity":
                return
            faces = [f for f in s.get_value("faces")]
            now = [(f.get_value("track-id"), f.get_value("label"))
                   for f in faces]
            if now != state["last"]:     # print changes only
                state["last"] = now
                print("%7.2f s: %s" % (
                    s.get_value("stream-time") / Gst.SECOND,
                    ", ".join("%s %.2f" % (f.get_value("label"),
                                           f.get_value("similarity"))
                              for f in faces) or "no faces"), flush=True)
            # Enroll once one face has been seen alone for 5 frames: ROI id
            # 0 asks for the largest face of the frame faceverify processed
            # last (the ROI ids of this message may be gone by now).
            state["single"] = state["single"] + 1 if len(faces) == 1 else 0
            if not state["enrolled"] and state["single"] >= 5:
                ok = verify.emit("enroll", args.enroll, 0)
                log("enrolled %s: %s" % (args.enroll, ok))
                state["enrolled"] = True
        elif msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            state["error"] = "%s (%s)" % (err.message, dbg)
            loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    if args.seconds:
        GLib.timeout_add_seconds(args.seconds, loop.quit)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    pipeline.set_state(Gst.State.NULL)
    bus.remove_signal_watch()
    if state["error"]:
        fail("camera: " + state["error"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", required=True, help="folder of sample*.jpg")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--faceverify", required=True,
                    help="the faceverify command line tool")
    ap.add_argument("--people", default=os.path.join(HERE, "people.csv"))
    ap.add_argument("--gallery", help="gallery file (default OUT/gallery.db)")
    ap.add_argument("--frames-per-shot", type=int, default=4)
    ap.add_argument("--threads", type=int, default=0,
                    help="threads of each element (0: one per core)")
    ap.add_argument("--camera", help="run on this camera device instead")
    ap.add_argument("--enroll", metavar="NAME",
                    help="camera mode: enroll the person in front of the "
                    "camera as NAME")
    ap.add_argument("--seconds", type=int, default=0,
                    help="camera mode: stop after this many seconds")
    args = ap.parse_args()
    args.out = os.path.abspath(args.out)
    args.gallery = os.path.abspath(
        args.gallery or os.path.join(args.out, "gallery.db"))
    os.makedirs(args.out, exist_ok=True)

    Gst.init(None)
    check_elements()
    people = load_people(args.people)
    photos = sorted(os.path.join(args.photos, p) for p in
                    {p["photo"] for p in people})

    if args.camera:
        if not os.path.exists(args.gallery):
            enroll(args, people, photos)
        camera(args)
        return 0

    t0 = time.monotonic()
    enroll(args, people, photos)
    demo = PhotoDemo(args, people, photos)
    demo.run()
    summary = demo.evaluate()
    ok = print_summary(summary, args.out)
    log("done in %.1f s" % (time.monotonic() - t0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
