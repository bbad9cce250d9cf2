#!/usr/bin/python3
"""Watch faceverify's `face-identity` bus messages and enroll a face with its
`enroll` action signal.

    fv-enroll-on-bus.py --gallery team.db --enroll alice clip.avi
    fv-enroll-on-bus.py --gallery team.db --camera /dev/video0 --show

Plays a video file (anything decodebin reads) or a camera through
    mtcnnfacedetect ! faceverify updates=every-frame
prints the faces whenever they change (a message comes for every frame)
and, with --enroll NAME, enrolls the first face that is alone on a frame as
NAME. faceverify writes the new sample to the gallery file and reloads it
in the background; from then on the face is reported as NAME. At the end it
prints in how many frames each label was known.

Needs Debian's python3-gi, gir1.2-gstreamer-1.0 and python3-gst-1.0 (which
lets PyGObject read the message's list of faces), and the plugin on
GST_PLUGIN_PATH (e.g. build/plugin of a build tree).
"""
import argparse
import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("video", nargs="?", help="a video file")
    ap.add_argument("--camera", help="a camera device instead, e.g. /dev/video0")
    ap.add_argument("--gallery", required=True,
                    help="gallery file (created by the first enrollment)")
    ap.add_argument("--enroll", metavar="NAME",
                    help="enroll the first face seen alone as NAME")
    ap.add_argument("--show", action="store_true",
                    help="show the video with faceverifyoverlay")
    args = ap.parse_args()
    if bool(args.video) == bool(args.camera):
        ap.error("give a video file or --camera DEVICE")

    Gst.init(None)
    if args.camera:
        source = "v4l2src device=\"%s\"" % args.camera
    else:
        source = "filesrc location=\"%s\" ! decodebin" % os.path.abspath(
            args.video)
    # A file plays in real time (sync=true) so that the gallery reload after
    # an enrollment happens while the video still runs, as with a camera.
    sink = ("videoconvert ! faceverifyoverlay ! videoconvert ! autovideosink"
            if args.show else "fakesink sync=true")
    pipeline = Gst.parse_launch(
        "%s ! videoconvert ! mtcnnfacedetect ! faceverify name=verify "
        "gallery-file=\"%s\" updates=every-frame ! %s" % (
            source, os.path.abspath(args.gallery), sink))
    verify = pipeline.get_by_name("verify")

    loop = GLib.MainLoop()
    known_counts = {}
    state = {"enrolled": None, "error": None, "last": None}

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.ELEMENT and msg.src == verify:
            s = msg.get_structure()
            if s.get_name() != "face-identity":
                return
            faces = s.get_value("faces")
            t = s.get_value("stream-time") / Gst.SECOND
            now = [(f.get_value("track-id"), f.get_value("label"))
                   for f in faces]
            if now != state["last"]:
                state["last"] = now
                print("%6.2f s: %s" % (t, "; ".join(
                    "track %d %s %.2f%s" % (
                        f.get_value("track-id"), f.get_value("label"),
                        f.get_value("similarity"),
                        "" if f.get_value("known") else " (unknown)")
                    for f in faces) or "no faces"), flush=True)
            for f in faces:
                if f.get_value("known"):
                    label = f.get_value("label")
                    known_counts[label] = known_counts.get(label, 0) + 1
            if args.enroll and not state["enrolled"] and len(faces) == 1:
                # "enroll" takes a face of the frame faceverify processed
                # last. This handler runs in the main loop, a little after
                # the message was posted, and a detector gives new ROI ids
                # on every frame; so ask for ROI id 0, the largest face of
                # the last frame, which is this face while it is alone.
                if verify.emit("enroll", args.enroll, 0):
                    state["enrolled"] = t
                    print("enrolled %s at %.2f s" % (args.enroll, t),
                          flush=True)
                else:
                    print("enrollment failed (see the warning on the bus)",
                          flush=True)
        elif msg.type == Gst.MessageType.WARNING:
            err, dbg = msg.parse_warning()
            print("warning: %s (%s)" % (err.message, dbg), file=sys.stderr)
        elif msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            state["error"] = "%s (%s)" % (err.message, dbg)
            loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    pipeline.set_state(Gst.State.NULL)
    bus.remove_signal_watch()
    if state["error"]:
        print("error: " + state["error"], file=sys.stderr)
        return 1
    print("known in frames: %s" % (", ".join(
        "%s %d" % kv for kv in sorted(known_counts.items())) or "nobody"))
    if args.enroll and not state["enrolled"]:
        print("nobody was alone on a frame: nothing enrolled", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
