#!/usr/bin/env python3
"""Follows faceverifypublish's events on an MQTT broker and prints who
comes, who they are and how long they stayed.

    examples/subscribers/fv-subscribe.py [--host H] [--port P]
        [--topic 'faceverify/#'] [--count N] [--timeout S]

It reads the broker with Debian's `mosquitto_sub` (mosquitto-clients) in a
subprocess, so it needs nothing beyond the Python standard library. Each
message is one JSON object of schema "gst-faceverify/event/1" (see the
README, section faceverifypublish). Lines it prints:

    door: now in view: person01
    door 00:00:01.000 track 1 appeared
    door 00:00:01.000 track 1 identified: person01 (known, similarity 0.94)
    door 00:00:04.000 track 1 left after 2.9 s: person01 (best 0.96)

--count N stops after N events (presence messages not counted),
--timeout S after S seconds; the exit status is 0 when at least one event
arrived.
"""
import argparse
import json
import subprocess
import sys
import time


def clock(ns):
    if ns is None:
        return "--:--:--.---"
    s = ns / 1e9
    return "%02d:%02d:%06.3f" % (s // 3600, s % 3600 // 60, s % 60)


def describe(ev):
    cam = ev.get("camera", "?")
    kind = ev.get("event")
    if kind == "presence":
        names = [f["label"] for f in ev.get("faces", [])]
        return "%s: now in view: %s" % (cam, ", ".join(names) or "nobody")
    head = "%s %s" % (cam, clock(ev.get("pts")))
    if kind == "frame":
        return "%s frame %d: %d faces" % (head, ev["frame"], len(ev["faces"]))
    track = "track %d" % ev["track_id"]
    if kind == "appeared":
        return "%s %s appeared" % (head, track)
    if kind == "identified":
        return "%s %s identified: %s (%s, similarity %.2f)" % (
            head, track, ev["label"], "known" if ev["known"] else "unknown",
            ev["similarity"])
    if kind == "left":
        return "%s %s left after %.1f s: %s (best %.2f)" % (
            head, track, ev["dwell_s"], ev["label"], ev["best_similarity"])
    return "%s %s" % (head, kind)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--topic", default="faceverify/#")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=0)
    a = ap.parse_args()

    cmd = ["mosquitto_sub", "-h", a.host, "-p", str(a.port), "-q", "1",
           "-v", "-t", a.topic]
    if a.timeout:
        cmd += ["-W", str(max(1, int(a.timeout + 0.999)))]
    events = 0
    t0 = time.monotonic()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as sub:
        for line in sub.stdout:
            topic, _, payload = line.rstrip("\n").partition(" ")
            try:
                ev = json.loads(payload)
            except ValueError:
                print("%s: not JSON: %.60s" % (topic, payload))
                continue
            print(describe(ev), flush=True)
            if ev.get("event") != "presence":
                events += 1
            if a.count and events >= a.count:
                break
            if a.timeout and time.monotonic() - t0 > a.timeout:
                break
        sub.terminate()
    return 0 if events else 1


if __name__ == "__main__":
    sys.exit(main())
