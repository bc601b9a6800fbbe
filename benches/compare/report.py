"""Renders benches/compare/run.sh's measurements (a TSV) as markdown tables.

    python3 report.py ROWS.tsv FPS SECONDS

Columns of ROWS.tsv (one line per peer x N; "-" = not measurable):
    peer n cpu_s frames_total frames_window first_ms_max rss_bytes wall_s
    load_before busy_before_pct quiet server_cores machine_cores note
"""

import collections
import sys

LABELS = collections.OrderedDict([
    ("floor-null", ("floor: ffmpeg -threads 1, file", "decode only (-f null)")),
    ("floor-bgr24", ("floor: ffmpeg -threads 1, file", "bgr24 rawvideo")),
    ("rtsp-ingest-yuv420p", ("rtsp-ingest bench", "yuv420p")),
    ("rtsp-ingest-bgr24", ("rtsp-ingest bench", "bgr24")),
    ("ffmpeg-null", ("ffmpeg CLI, 1 process/stream", "decode only (-f null)")),
    ("ffmpeg-bgr24", ("ffmpeg CLI, 1 process/stream", "bgr24 rawvideo")),
    ("gst-null", ("gst-launch, 1 process/stream", "decode only (avdec_h264 ! fakesink)")),
    ("gst-bgr24", ("gst-launch, 1 process/stream", "bgr24 (videoconvert)")),
    ("opencv-grab", ("OpenCV VideoCapture, 1 thread/stream", "decode only (grab())")),
    ("opencv-read", ("OpenCV VideoCapture, 1 thread/stream", "bgr24 (read())")),
])


def fnum(s):
    return None if s in ("-", "", "None", "null") else float(s)


def main():
    path, fps, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    rows = []
    for line in open(path):
        if not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        (peer, n, cpu, total, window, first, rss, wall, load, busy, quiet, server, machine,
         note) = (f + [""] * 14)[:14]
        rows.append(dict(peer=peer, n=int(n), cpu=fnum(cpu), total=fnum(total),
                         window=fnum(window), first=fnum(first), rss=fnum(rss), wall=fnum(wall),
                         load=load, busy=fnum(busy), quiet=quiet, server=fnum(server),
                         machine=fnum(machine), note=note))

    def per_frame(r):
        return r["cpu"] * 1e3 / r["total"] if r["cpu"] is not None and r["total"] else None

    def kept(r):
        if r["peer"].startswith("floor"):
            return None
        if r["window"] is None:
            return False
        return r["window"] >= 0.95 * fps * seconds * r["n"]

    def other(r):
        # Machine CPU (cores) during the run not spent by the clients or the server.
        if None in (r["machine"], r["cpu"], r["wall"], r["server"]) or not r["wall"]:
            return None
        return r["machine"] - r["cpu"] / r["wall"] - r["server"]

    print("| peer | output | N | CPU-ms/frame | real time kept (frames in window / 0.95 × 25 × S × N) "
          "| first frame, last of N (ms) | peak RSS (MiB) | RTSP server CPU (cores) "
          "| other CPU on the machine (cores) | load avg before |")
    print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    order = list(LABELS)
    rows.sort(key=lambda r: (order.index(r["peer"]) if r["peer"] in order else 99, r["n"]))
    for r in rows:
        name, out = LABELS.get(r["peer"], (r["peer"], ""))
        pf = per_frame(r)
        k = kept(r)
        if k is None:
            kept_s = "n/a (file, as fast as it can)"
        else:
            kept_s = "%s (%d / %d)" % ("yes" if k else "**NO**", r["window"] or 0,
                                       round(0.95 * fps * seconds * r["n"]))
        first = "n/a" if r["first"] is None else "%.0f" % r["first"]
        rss = "n/a" if r["rss"] is None else "%.0f" % (r["rss"] / 2**20)
        server = "–" if r["server"] is None else "%.2f" % r["server"]
        o = other(r)
        other_s = "–" if o is None else "%.2f" % o
        load = r["load"] + ("" if r["quiet"] in ("yes", "") else " (not quiet: %s)" % r["quiet"])
        note = (" — " + r["note"]) if r["note"] else ""
        print("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s%s |" % (
            name, out, r["n"], "n/a" if pf is None else "%.2f" % pf, kept_s, first, rss,
            server, other_s, load, note))

    # CPU-ms/frame pivot, peer x N.
    ns = sorted({r["n"] for r in rows if not r["peer"].startswith("floor")})
    by = {(r["peer"], r["n"]): r for r in rows}
    print()
    print("CPU-ms per frame (✗ = did not keep real time):")
    print()
    print("| peer | output | " + " | ".join("N = %d" % n for n in ns) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in ns) + " |")
    for peer in order:
        if peer.startswith("floor") or not any((peer, n) in by for n in ns):
            continue
        cells = []
        for n in ns:
            r = by.get((peer, n))
            pf = per_frame(r) if r else None
            cells.append("" if r is None else ("n/a" if pf is None else "%.2f" % pf)
                         + ("" if r is None or kept(r) else " ✗"))
        name, out = LABELS[peer]
        print("| %s | %s | %s |" % (name, out, " | ".join(cells)))
    for peer in ("floor-null", "floor-bgr24"):
        r = by.get((peer, 1))
        if r:
            pf = per_frame(r)
            name, out = LABELS[peer]
            print("| %s | %s | %s |" % (name, out, " | ".join(
                ["%.2f (file)" % pf if pf else "n/a"] + [""] * (len(ns) - 1))))

    # The targets.
    print()
    print("Targets:")
    print()
    for n in ns:
        for ours, theirs, target in (("rtsp-ingest-bgr24", "ffmpeg-bgr24", 0.70),
                                     ("rtsp-ingest-yuv420p", "ffmpeg-null", 0.80)):
            a, b = by.get((ours, n)), by.get((theirs, n))
            if a and b and per_frame(a) and per_frame(b):
                ratio = per_frame(a) / per_frame(b)
                print("- N = %d: %s / %s = %.2f (target ≤ %.2f: %s)" % (
                    n, ours, theirs, ratio, target, "met" if ratio <= target else "**not met**"))
    ingest = [r for r in rows if r["peer"] == "rtsp-ingest-bgr24"]
    if ingest:
        ok = [r["n"] for r in ingest if kept(r)]
        bad = [r["n"] for r in ingest if not kept(r)]
        print("- rtsp-ingest bgr24 kept real time at N = %s%s (target: ≥ 22 on 2 cores)" % (
            ", ".join(map(str, sorted(ok))) or "none",
            "; not at N = " + ", ".join(map(str, sorted(bad))) if bad else ""))
        for r in sorted(ingest, key=lambda r: r["n"]):
            if r["first"] is not None and r["n"] in (1, 16):
                target = 150 if r["n"] == 1 else 500
                print("- rtsp-ingest bgr24 first frame, last of %d: %.0f ms (target ≤ %d ms: %s)" % (
                    r["n"], r["first"], target, "met" if r["first"] <= target else "**not met**"))


if __name__ == "__main__":
    main()
