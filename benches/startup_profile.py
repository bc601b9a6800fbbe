#!/usr/bin/python3
"""The start-up timeline of every stream of one `rtsp-ingest bench` run (issue 13 §5).

Reads what benches/startup_profile.sh recorded for one run and prints one row per stream, in ms
from that stream's worker thread start (the moment its `first_frame_ms` counts from):

    connect   the worker's connect() to the server (strace)
    OPT DESC SETUP PLAY
              the server's reply to each request: the time its first byte was on the wire
              (tcpdump on lo); DESC- is when the DESCRIBE request went out
    rtp1      the first RTP packet (interleaved, channel 0)
    key       the last packet of the first frame (RTP marker bit): the keyframe fully received
    next      the first packet of the second frame: when FFmpeg's parser can close the first
              access unit (it ends an AU only when the next one begins)
    slab      the worker's largest mmap() after PLAY (the slab's slots; strace)
    first     first_frame_ms (the bench's JSON)

then the median and max of every column, and the server's DESCRIBE service: how long each
DESCRIBE waited from its request to its reply, and the spacing of the replies in the order the
server sent them (one GLib main loop: a reply at a time).

    startup_profile.py STRACE PCAP BENCH_JSON PORT
"""

import json
import re
import statistics
import struct
import sys

METHODS = ("OPTIONS", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN", "GET_PARAMETER")


# --- strace -------------------------------------------------------------------------------------
def read_strace(path, port):
    """{tid: {"name", "start", "connect", "lport", "mmaps": [(t, len)]}} of the worker threads."""
    threads = {}
    line_re = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(\w+)\((.*)$")
    sock_re = re.compile(r"TCP:\[127\.0\.0\.1:(\d+)->127\.0\.0\.1:%d\]" % port)
    for line in open(path, errors="replace"):
        m = line_re.match(line)
        if not m:
            continue
        tid, t, call, rest = int(m.group(1)), float(m.group(2)), m.group(3), m.group(4)
        th = threads.setdefault(tid, {"name": None, "start": None, "connect": None,
                                      "lport": None, "mmaps": []})
        if call == "prctl" and "PR_SET_NAME" in rest:
            n = re.search(r'"([^"]*)"', rest)
            if n and th["name"] is None:
                th["name"], th["start"] = n.group(1), t
        elif call == "connect" and ("sin_port=htons(%d)" % port) in rest:
            if th["connect"] is None:
                th["connect"] = t
        elif call == "mmap":
            n = re.match(r"NULL, (\d+),", rest)
            if n:
                th["mmaps"].append((t, int(n.group(1))))
        if th["lport"] is None:
            s = sock_re.search(rest)
            if s:
                th["lport"] = int(s.group(1))
    return {tid: th for tid, th in threads.items()
            if th["name"] and th["name"].startswith("rtsp-") and th["lport"]}


# --- pcap ---------------------------------------------------------------------------------------
def read_pcap(path, port):
    """{client_port: {"c2s": [(t, bytes)], "s2c": [(t, bytes)]}}: each direction's segments in
    sequence order, duplicates dropped (a gap ends that direction's stream)."""
    f = open(path, "rb")
    magic = f.read(24)
    if len(magic) < 24:
        return {}
    endian = "<" if magic[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", magic[20:24])[0]
    offset = {1: 14, 113: 16, 276: 20, 0: 4}.get(linktype, 14)
    flows = {}
    while True:
        h = f.read(16)
        if len(h) < 16:
            break
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", h)
        data = f.read(incl)
        t = sec + frac / (1e9 if nano else 1e6)
        ip = data[offset:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[ihl:total]
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        flags = tcp[13]
        doff = (tcp[12] >> 4) * 4
        payload = tcp[doff:]
        if dport == port:
            key, way = sport, "c2s"
        elif sport == port:
            key, way = dport, "s2c"
        else:
            continue
        flow = flows.setdefault(key, {"c2s": {"next": None, "segs": [], "gap": False},
                                      "s2c": {"next": None, "segs": [], "gap": False}})[way]
        if flags & 0x02:  # SYN: the first data byte is seq + 1
            flow["next"] = (seq + 1) & 0xFFFFFFFF
            if way == "c2s":
                flows[key]["syn"] = t
            continue
        if not payload or flow["next"] is None or flow["gap"]:
            continue
        rel = (seq - flow["next"]) & 0xFFFFFFFF
        if rel >= 0x80000000:  # a retransmission of bytes we have: keep what is new
            skip = (flow["next"] - seq) & 0xFFFFFFFF
            if skip >= len(payload):
                continue
            payload, rel = payload[skip:], 0
        if rel != 0:  # a hole (a capture drop): stop parsing this direction here
            flow["gap"] = True
            continue
        flow["segs"].append((t, payload))
        flow["next"] = (flow["next"] + len(payload)) & 0xFFFFFFFF
    return flows


def messages(segs):
    """RTSP messages and interleaved frames of one direction, in order: (t_first_byte,
    t_last_byte, kind, info). kind "rtsp" (info: the start line) or "$" (info: (channel, data))."""
    buf = bytearray()
    times = []  # (end offset in buf, t) per segment
    out = []
    base = 0  # offset of buf[0] in the stream

    def time_at(pos):
        for end, t in times:
            if pos < end:
                return t
        return times[-1][1]

    for t, payload in segs:
        buf += payload
        times.append((base + len(buf), t))
        while buf:
            if buf[0] == 0x24:  # '$'
                if len(buf) < 4:
                    break
                ch, n = buf[1], struct.unpack(">H", buf[2:4])[0]
                if len(buf) < 4 + n:
                    break
                out.append((time_at(base), time_at(base + 3 + n), "$", (ch, bytes(buf[4:4 + n]))))
                used = 4 + n
            else:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                head = bytes(buf[:end]).decode("latin-1")
                m = re.search(r"(?im)^content-length:\s*(\d+)", head)
                n = int(m.group(1)) if m else 0
                if len(buf) < end + 4 + n:
                    break
                used = end + 4 + n
                out.append((time_at(base), time_at(base + used - 1), "rtsp", head.split("\r\n")[0]))
            del buf[:used]
            base += used
            times = [(e, tt) for e, tt in times if e > base] or times[-1:]
    return out


# --- the table ----------------------------------------------------------------------------------
COLUMNS = ["connect", "OPT", "DESC-", "DESC", "SETUP", "PLAY", "rtp1", "key", "next", "slab",
           "first"]


def profile(strace, pcap, bench, port):
    threads = read_strace(strace, port)
    flows = read_pcap(pcap, port)
    firsts = {s["id"]: s.get("first_frame_ms") for s in json.load(open(bench))["streams"]}
    rows, describe = [], []
    for tid, th in sorted(threads.items(), key=lambda kv: kv[1]["start"]):
        sid = th["name"][len("rtsp-"):]
        t0 = th["start"]
        ms = lambda t: None if t is None else (t - t0) * 1e3  # noqa: E731
        row = {"stream": sid, "connect": ms(th["connect"]), "first": firsts.get(sid)}
        flow = flows.get(th["lport"], {})
        sent = [m for m in messages(flow.get("c2s", {}).get("segs", [])) if m[2] == "rtsp"]
        got = messages(flow.get("s2c", {}).get("segs", []))
        replies = [m for m in got if m[2] == "rtsp"]
        requests = [(m[0], m[3].split(" ")[0]) for m in sent if m[3].split(" ")[0] in METHODS]
        play_reply = None
        seen = set()
        for (t_req, method), reply in zip(requests, replies):
            col = {"OPTIONS": "OPT", "DESCRIBE": "DESC", "SETUP": "SETUP", "PLAY": "PLAY"}.get(method)
            if col and col not in seen:
                seen.add(col)
                row[col] = ms(reply[0])
                if method == "DESCRIBE":
                    row["DESC-"] = ms(t_req)
                    describe.append((t_req, reply[0], sid))
                if method == "PLAY":
                    play_reply = reply[0]
        rtp = [m for m in got if m[2] == "$" and m[3][0] == 0 and len(m[3][1]) >= 12]
        if rtp:
            row["rtp1"] = ms(rtp[0][0])
            ts0 = rtp[0][3][1][4:8]
            for m in rtp:
                if m[3][1][1] & 0x80:
                    row["key"] = ms(m[1])
                    break
            for m in rtp:
                if m[3][1][4:8] != ts0:
                    row["next"] = ms(m[0])
                    break
            nal = rtp[0][3][1][12] & 0x1F
            row["nal"] = nal
        if play_reply is not None:
            big = [(n, t) for t, n in th["mmaps"] if t >= play_reply and n >= 1 << 20]
            if big:
                row["slab"] = ms(max(big)[1])
        rows.append(row)
    return rows, describe


def fmt(v):
    return "%7s" % ("-" if v is None else "%.0f" % v)


def main():
    strace, pcap, bench, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rows, describe = profile(strace, pcap, bench, port)
    print("%-8s" % "stream" + "".join("%7s" % c for c in COLUMNS) + "  (ms from the worker's start)")
    for row in rows:
        print("%-8s" % row["stream"] + "".join(fmt(row.get(c)) for c in COLUMNS))
    for name, agg in (("median", statistics.median), ("max", max)):
        cells = []
        for c in COLUMNS:
            vals = [r[c] for r in rows if r.get(c) is not None]
            cells.append(fmt(agg(vals) if vals else None))
        print("%-8s" % name + "".join(cells))
    if rows:
        starts = sorted(r for r in (row.get("connect") for row in rows) if r is not None)
        nals = sorted({r.get("nal") for r in rows if r.get("nal") is not None})
        print("first RTP NAL types: %s (7 = SPS, 5 = IDR, 24 = STAP-A, 28 = FU-A)" % nals)
    if describe:
        describe.sort(key=lambda d: d[1])
        waits = [(b - a) * 1e3 for a, b, _ in describe]
        gaps = [(describe[i][1] - describe[i - 1][1]) * 1e3 for i in range(1, len(describe))]
        span_req = (max(a for a, _, _ in describe) - min(a for a, _, _ in describe)) * 1e3
        print("server DESCRIBE: requests within %.0f ms; request->reply median %.0f max %.0f ms; "
              "reply spacing median %.1f ms (replies span %.0f ms)"
              % (span_req, statistics.median(waits), max(waits),
                 statistics.median(gaps) if gaps else 0,
                 (describe[-1][1] - describe[0][1]) * 1e3))
    print("SUMMARY " + json.dumps({c: [statistics.median(v), max(v)] for c in COLUMNS
                                   for v in [[r[c] for r in rows if r.get(c) is not None]] if v}))


if __name__ == "__main__":
    main()
