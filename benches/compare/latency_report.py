"""The markdown table of benches/compare/latency.sh's rows (peer, size, N, JSON file, load, S)."""

import json
import sys

FPS = 25
GOALS = [("opencv-threaded", 0.5), ("gst", 0.8), ("ffmpeg", 0.9)]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def main(rows_path):
    rows = [line.rstrip("\n").split("\t") for line in open(rows_path) if line.strip()]
    results = {}
    print("| size | N | peer | glass-to-consumer p50 ms | p99 | max | frames counted / sent | "
          "unreadable, unmatched | p50 / rtsp-ingest's | load before |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for peer, size, n, path, load1, seconds in rows:
        n, seconds = int(n), float(seconds)
        data = load(path)
        glass = data.get("totals", {}).get("glass_to_consumer_ms", {})
        streams = data.get("streams", [])
        if peer in ("rtsp-ingest", "rtsp-ingest-native"):
            unreadable = sum(s.get("consumer", {}).get("unreadable", 0) for s in streams)
            unmatched = sum(s.get("consumer", {}).get("unmatched", 0) for s in streams)
        else:
            unreadable = sum(s.get("unreadable", 0) for s in streams)
            unmatched = sum(s.get("unmatched", 0) for s in streams)
        errors = sorted({s["error"] for s in streams if s.get("error")})
        results[(size, n, peer)] = glass
        base = results.get((size, n, "rtsp-ingest"), {}).get("p50")
        ratio = ("%.2f" % (glass["p50"] / base)) if glass.get("p50") and base else "-"
        fmt = lambda v: "-" if v is None else "%.1f" % v
        note = (" (%s)" % "; ".join(errors)) if errors else ""
        print(f"| {size} | {n} | {peer}{note} | {fmt(glass.get('p50'))} | {fmt(glass.get('p99'))} | "
              f"{fmt(glass.get('max'))} | {glass.get('count', 0)} / {int(FPS * seconds * n)} | "
              f"{unreadable}, {unmatched} | {ratio} | {load1} |")
    print()
    print("Goals (rtsp-ingest's p50 against each peer's, and its p99 against its p50 at N = 16):")
    print()
    for (size, n, peer), glass in sorted(results.items()):
        if peer != "rtsp-ingest" or glass.get("p50") is None:
            continue
        ours = glass["p50"]
        for other, factor in GOALS:
            theirs = results.get((size, n, other), {}).get("p50")
            if theirs:
                verdict = "met" if ours <= factor * theirs else "missed"
                print(f"- {size} N={n}: p50 {ours:.1f} ≤ {factor} × {other} {theirs:.1f} = "
                      f"{factor * theirs:.1f} ms: {verdict}")
        if n == 16:
            verdict = "met" if glass["p99"] <= 2 * ours else "missed"
            print(f"- {size} N=16: p99 {glass['p99']:.1f} ≤ 2 × p50 = {2 * ours:.1f} ms: {verdict}")


if __name__ == "__main__":
    main(sys.argv[1])
