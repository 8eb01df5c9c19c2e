#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""thaw's benchmark harness (`make bench`).

Starts a private thawd with a tmpfs tier it mounts and a persistent tier on
disk, and the home example app at each state size; measures, all in one run:

  - cold vs warm launch-to-ready, restoring eagerly from tmpfs and from the
    persistent tier with a cold page cache, and lazily (userfaultfd);
  - dump time and frozen time per size (the frozen time from CRIU's own
    dump statistics, stats-dump in the image folder);
  - thaw's warm launch vs a plain `criu restore` of the same image, timed to
    the same readiness signal (the app's `ready` request);
  - restore throughput vs the machine's limit (the image's page files read
    into freshly mapped anonymous memory);
  - the figures of the other benchmark programs (HAL call latency, store).

Prints one `BENCH name=... value=... unit=... key=value...` line per
figure and a table, writes results.json and draws PNG plots with gnuplot.

Environment: THAW_BENCH_SIZES (MiB, default "16 64 256 1024"), THAW_BENCH_REPS
(default 5), THAW_CRIU, THAW_BENCH_KEEP=1 (keep the temporary folders).
"""
import ctypes
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("THAW_BUILD_DIR") or os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("THAW_BENCH_OUT") or os.path.join(BUILD, "bench")
CRIU = os.environ.get("THAW_CRIU") or "criu"
SIZES = [int(s) for s in
         os.environ.get("THAW_BENCH_SIZES", "16 64 256 1024").replace(",", " ").split()]
REPS = int(os.environ.get("THAW_BENCH_REPS", "5"))
THAWD = os.path.join(BUILD, "daemon", "thawd")
EX = os.path.join(BUILD, "examples")
WAKE_SIGNAL = signal.SIGRTMIN + 4
RESTORED = 2

libc = ctypes.CDLL(None, use_errno=True)
figures = []      # every BENCH line, as dicts
runs = []         # every measured launch, raw
apart = []        # launches that expected a restore and started cold
notes = []


def say(msg):
    print("thaw-bench: " + msg, file=sys.stderr, flush=True)


def bench(name, value, unit, **keys):
    f = {"name": name, "value": round(value, 3), "unit": unit}
    f.update(keys)
    figures.append(f)
    extra = "".join(" %s=%s" % (k, v) for k, v in keys.items())
    print("BENCH name=%s value=%.3f unit=%s%s" % (name, value, unit, extra),
          flush=True)


def median(xs):
    return statistics.median(xs) if xs else None


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


class Thawd:
    def __init__(self, root, tmpfs, persist):
        self.root, self.tmpfs, self.persist = root, tmpfs, persist
        self.sock = os.path.join(root, "run", "thawd.sock")
        self.log = open(os.path.join(root, "thawd.log"), "ab")
        self.proc = None

    def start(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.proc = subprocess.Popen(
            [THAWD, "--socket", self.sock,
             "--apps-dir", os.path.join(self.root, "apps"),
             "--tmpfs-dir", self.tmpfs, "--persist-dir", self.persist,
             "--run-dir", os.path.join(self.root, "run"), "--criu", CRIU,
             "--log-target", "stderr"],
            stdout=self.log, stderr=self.log)
        for _ in range(100):
            if os.path.exists(self.sock):
                return
            time.sleep(0.1)
        raise RuntimeError("thawd made no socket")

    def stop(self):
        if not self.proc:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def call(self, method, payload=None, timeout=180):
        """One request; returns (answer, seconds from send to answer)."""
        req = {"method": method}
        if payload is not None:
            req["payload"] = payload
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        t0 = time.monotonic()
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        t1 = time.monotonic()
        s.close()
        line = buf.split(b"\n", 1)[0]
        return (json.loads(line) if line else {}), t1 - t0


def find_app(desc, app):
    """The store's description of app, wherever the answer nests it."""
    if isinstance(desc, dict):
        if desc.get("id") == app and ("tmpfs" in desc or "persistent" in desc):
            return desc
        for v in desc.values():
            r = find_app(v, app)
            if r:
                return r
    elif isinstance(desc, list):
        for v in desc:
            r = find_app(v, app)
            if r:
                return r
    return None


def image_state(d, app):
    ans, _ = d.call("images")
    a = find_app(ans, app) or {}
    t, p = a.get("tmpfs") or {}, a.get("persistent") or {}
    return t, p, a.get("copyInFlight", False)


def wait_image(d, app, old_seq, timeout=300):
    """Waits for a new valid image in tmpfs and its copy on the persistent
    tier; returns the new seq."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        t, p, busy = image_state(d, app)
        if (t.get("state") == "valid" and t.get("seq", 0) != old_seq and
                p.get("seq") == t.get("seq") and p.get("state") == "valid"
                and not busy):
            return t["seq"]
        time.sleep(0.05)
    raise RuntimeError("%s: no new image after its checkpoint" % app)


def wait_stopped(d, app, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ans, _ = d.call("running")
        if not any(r.get("id") == app for r in ans.get("running", [])):
            return
        time.sleep(0.05)
    raise RuntimeError("%s did not stop" % app)


def close(d, app):
    d.call("closeByAppId", {"id": app})
    wait_stopped(d, app)


def launch(d, app, kind, size, expect):
    ans, secs = d.call("launch", {"id": app})
    if not ans and d.proc and d.proc.poll() is not None:
        raise RuntimeError("thawd died (status %s) at the %s launch of %s: "
                           "see %s/thawd.log" % (d.proc.returncode, kind, app,
                                                 OUT))
    if not ans.get("returnValue"):
        raise RuntimeError("%s: launch failed: %s" % (app, ans))
    r = {"app": app, "size": size, "kind": kind, "start": ans.get("start"),
         "readyMs": ans.get("readyMs"), "clientMs": secs * 1000.0,
         "reason": ans.get("reason"), "lazyPages": ans.get("lazyPages")}
    runs.append(r)
    if expect == "restored" and r["start"] != "restored":
        apart.append(r)
        say("%s %s: expected a restore, got %s (%s): counted apart" %
            (app, kind, r["start"], r["reason"]))
        return None
    if expect == "restored-lazily" and (r["start"] != "restored" or
                                        not r["lazyPages"]):
        apart.append(r)
        say("%s %s: expected a lazy restore, got %s, lazyPages %s (%s): "
            "counted apart" % (app, kind, r["start"], r["lazyPages"],
                               r["reason"]))
        return None
    return r


def ensure_image(d, app, size):
    """The app's current tmpfs image, made anew (a cold launch that dumps)
    when thawd gave the last one up, as after a restore that ran past its
    deadline."""
    t, _, _ = image_state(d, app)
    if t.get("state") != "valid":
        notes.append("%s: image given up by thawd; dumped anew" % app)
        launch(d, app, "cold-reimage", size, "cold")
        wait_image(d, app, t.get("seq"))
        close(d, app)
    return current_dir(d.tmpfs, app)


def current_dir(tmpfs, app):
    return os.path.realpath(os.path.join(tmpfs, app, "current"))


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def dump_stats(img):
    """CRIU's dump statistics (microseconds) from img/stats-dump: a CRIU
    image (two magic words, then a length-prefixed StatsEntry whose field 1
    is the DumpStatsEntry)."""
    names = {1: "freezing_time", 2: "frozen_time", 3: "memdump_time",
             4: "memwrite_time", 5: "pages_scanned", 7: "pages_written"}
    try:
        b = open(os.path.join(img, "stats-dump"), "rb").read()
    except OSError:
        return {}
    n = int.from_bytes(b[8:12], "little")
    msg, i, out = b[12:12 + n], 0, {}
    while i < len(msg):
        key, i = varint(msg, i)
        if key >> 3 == 1 and key & 7 == 2:
            ln, i = varint(msg, i)
            sub, j = msg[i:i + ln], 0
            while j < len(sub):
                k, j = varint(sub, j)
                if k & 7 != 0:
                    break
                v, j = varint(sub, j)
                if k >> 3 in names:
                    out[names[k >> 3]] = v
            i += ln
        else:
            break
    return out


def pages_bytes(img):
    return sum(os.path.getsize(os.path.join(img, f)) for f in os.listdir(img)
               if f.startswith("pages-") and f.endswith(".img"))


def dir_bytes(path):
    total = 0
    for base, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(base, f))
    return total


def read_limit(img, cold):
    cmd = [os.path.join(OUT, "thaw-bench-readmem"), img]
    if cold:
        cmd.insert(1, "--drop-caches")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    kv = dict(t.split("=", 1) for t in out.stdout.split()[1:])
    return int(kv["bytes"]), int(kv["usec"])


def thawd_dump_ms(root, app, since):
    """thawd's own account of the dump, when its log has one."""
    try:
        lines = open(os.path.join(root, "thawd.log"), errors="replace").read()
    except OSError:
        return None
    import re
    ms = re.findall(r"%s\[\d+\]: dumped.*? in ([0-9.]+) ?ms" % re.escape(app),
                    lines[since:])
    return float(ms[-1]) if ms else None


def thawd_restore_split(root, app, since):
    """thawd's split of its last restore of app: (tier, total, check, criu)
    in ms, when its log has it."""
    import re
    try:
        with open(os.path.join(root, "thawd.log"), errors="replace") as f:
            f.seek(since)
            text = f.read()
    except OSError:
        return None
    m = re.findall(r"%s\[\d+\]: restored from (\S+) in ([0-9.]+) ms "
                   r"\(image check ([0-9.]+) ms, CRIU ([0-9.]+) ms\)"
                   % re.escape(app), text)
    if not m:
        return None
    t, total, check, criu = m[-1]
    return t, float(total), float(check), float(criu)


def measure_size(d, root, size, res):
    app = "home-%d" % size
    seq = 0
    cold, warm, persist, dump_ms, frozen, freezing, memdump = \
        [], [], [], [], [], [], []
    check_ms, criu_ms = [], []
    for rep in range(REPS):
        if rep:
            d.call("invalidate", {"id": app})
        logpos = os.path.getsize(os.path.join(root, "thawd.log"))
        t_dump0 = time.monotonic()
        r = launch(d, app, "cold", size, "cold")
        if r["start"] != "cold":
            say("%s: cold launch started %s" % (app, r["start"]))
        else:
            cold.append(r["clientMs"])
        seq = wait_image(d, app, seq)
        img = current_dir(d.tmpfs, app)
        st = dump_stats(img)
        if "frozen_time" in st:
            frozen.append(st["frozen_time"] / 1000.0)
            freezing.append(st["freezing_time"] / 1000.0)
            memdump.append((st["memdump_time"] + st["memwrite_time"]) / 1000.0)
        dm = thawd_dump_ms(root, app, logpos)
        if dm is None:
            # From the ready answer to the published image: an upper bound.
            dm = (time.monotonic() - t_dump0) * 1000.0 - r["clientMs"]
        dump_ms.append(dm)
        close(d, app)

        logpos = os.path.getsize(os.path.join(root, "thawd.log"))
        r = launch(d, app, "warm-tmpfs", size, "restored")
        if r:
            warm.append(r["clientMs"])
            sp = thawd_restore_split(root, app, logpos)
            if sp:
                check_ms.append(sp[2])
                criu_ms.append(sp[3])
        close(d, app)

        shutil.rmtree(os.path.join(d.tmpfs, app), ignore_errors=True)
        drop_caches()
        r = launch(d, app, "warm-persist-cold-cache", size, "restored")
        if r:
            persist.append(r["clientMs"])
        close(d, app)

    img = ensure_image(d, app, size)
    _, p, _ = image_state(d, app)
    res[size] = {"app": app, "image": img, "cold": cold, "warm": warm,
                 "persist": persist, "dump": dump_ms, "frozen": frozen,
                 "freezing": freezing, "memdump": memdump,
                 "image_check": check_ms, "criu_restore": criu_ms,
                 "pages_bytes": pages_bytes(img), "image_bytes": dir_bytes(img),
                 "persist_bytes": p.get("bytes", 0)}


def measure_sampled(d, size, res):
    """The app checking one page in 64 of its state (--verify sample), as
    a lazily restored app would not fetch every page: its image, and
    thawd's lazy warm launch of it (its manifest asks for lazy pages)."""
    app = "home-lazy-%d" % size
    launch(d, app, "cold-sampled", size, "cold")
    wait_image(d, app, 0)
    close(d, app)
    warm = []
    for _ in range(REPS):
        r = launch(d, app, "warm-tmpfs-lazy-sampled", size,
                   "restored-lazily")
        if r:
            warm.append(r["clientMs"])
        close(d, app)
    res[size]["sampled"] = {"image": current_dir(d.tmpfs, app),
                            "warm": warm}


class FakeThawd:
    """Answers a restored app's requests on its THAW_SOCKET as thawd would,
    so that a plain `criu restore` can be timed to the same `ready`."""

    def __init__(self, path):
        if os.path.exists(path):
            os.unlink(path)
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(path)
        self.s.listen(8)
        self.path = path

    def wait_ready(self, timeout):
        end = time.monotonic() + timeout
        while True:
            self.s.settimeout(max(0.01, end - time.monotonic()))
            c, _ = self.s.accept()
            c.settimeout(5)
            buf = b""
            while b"\n" not in buf:
                chunk = c.recv(65536)
                if not chunk:
                    break
                buf += chunk
            method = json.loads(buf.split(b"\n")[0] or b"{}").get("method")
            ans = {"returnValue": True}
            if method == "launchParams":
                ans["params"] = {}
            c.sendall((json.dumps(ans) + "\n").encode())
            c.close()
            if method == "ready":
                return time.monotonic()

    def close(self):
        self.s.close()
        os.unlink(self.path)


def start_lazy_daemon(img, work):
    sock = os.path.join(work, "lazy-pages.socket")
    if os.path.exists(sock):
        os.unlink(sock)
    p = subprocess.Popen([CRIU, "lazy-pages", "-D", img, "-W", work, "-v4",
                          "-o", "lazy-pages.log"])
    end = time.monotonic() + 10
    while not os.path.exists(sock):
        if time.monotonic() > end or p.poll() is not None:
            p.kill()
            raise RuntimeError("criu lazy-pages did not start: see %s" % work)
        time.sleep(0.0005)
    return p


def plain_restore(img, fake, work, lazy=False):
    """One `criu restore` of img with fresh stdout/stderr pipes in place of
    thawd's, the wake-up thawd would send, and the wait for `ready`; with
    lazy, pages come from a `criu lazy-pages` daemon on demand.  Returns
    seconds from the start of CRIU to the ready request."""
    info = json.load(open(os.path.join(img, "thaw-app.json")))
    pipes, args = [], []
    for i, k in enumerate(("stdoutIno", "stderrIno")):
        ino = info.get(k)
        if not ino or (i == 1 and ino == info.get("stdoutIno")):
            continue
        r, w = os.pipe()
        pipes.append((r, w))
        args += ["--inherit-fd", "fd[%d]:pipe:[%d]" % (w, ino)]
    pidfile = os.path.join(work, "pid")
    if os.path.exists(pidfile):
        os.unlink(pidfile)
    t0 = time.monotonic()
    daemon = start_lazy_daemon(img, work) if lazy else None
    if lazy:
        args.append("--lazy-pages")
    rc = subprocess.call([CRIU, "restore", "-D", img, "-W", work, "-v4",
                          "-o", "restore.log", "--restore-detached",
                          "--pidfile", pidfile] + args,
                         pass_fds=[w for _, w in pipes])
    if rc != 0 and daemon:
        daemon.kill()
        daemon.wait()
    if rc != 0:
        for r, w in pipes:
            os.close(r)
            os.close(w)
        raise RuntimeError("criu restore failed: see %s/restore.log" % work)
    t_criu = time.monotonic()
    pid = int(open(pidfile).read())
    libc.sigqueue(ctypes.c_int(pid), ctypes.c_int(WAKE_SIGNAL),
                  ctypes.c_void_p(RESTORED))
    t1 = fake.wait_ready(60)
    os.kill(pid, signal.SIGKILL)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    if daemon:
        daemon.kill()
        daemon.wait()
    for r, w in pipes:
        os.close(r)
        os.close(w)
    runs.append({"kind": "plain-criu-lazy" if lazy else "plain-criu",
                 "image": img, "criuMs": (t_criu - t0) * 1000.0,
                 "readyMs": (t1 - t0) * 1000.0})
    return t1 - t0


def plain_reps(img, fake, work, lazy, size, what):
    try:
        return [plain_restore(img, fake, work, lazy) * 1000.0]
    except (RuntimeError, OSError) as e:
        notes.append("plain criu %s restore at %d MiB: %s" % (what, size, e))
        return []


def measure_paired(d, root, res):
    """thaw's warm launch and a plain `criu restore` of the same image,
    taken in turns (thawd stopped for the latter: the app's socket path is
    in its image), so that both see the same load; likewise plain criu's
    eager and lazy restores of the sampled-check image."""
    sock = os.path.join(root, "run", "thawd.sock")
    work = os.path.join(root, "criu-work")
    os.makedirs(work, exist_ok=True)
    for size in SIZES:
        r, sm = res[size], res[size].get("sampled") or {}
        app = r["app"]
        thaw, plain, eager, lazy = [], [], [], []
        for _ in range(REPS):
            r["image"] = ensure_image(d, app, size)
            x = launch(d, app, "warm-tmpfs-paired", size, "restored")
            if x:
                thaw.append(x["clientMs"])
            close(d, app)
            r["image"] = ensure_image(d, app, size)
            d.stop()
            fake = FakeThawd(sock)
            try:
                plain += plain_reps(r["image"], fake, work, False, size,
                                    "eager")
                if sm:
                    eager += plain_reps(sm["image"], fake, work, False, size,
                                        "eager (sampled check)")
                    lazy += plain_reps(sm["image"], fake, work, True, size,
                                       "lazy (sampled check)")
            finally:
                fake.close()
                d.start()
        r["paired_thaw"], r["plain"] = thaw, plain
        if sm:
            sm["plain_eager"], sm["plain_lazy"] = eager, lazy


def other_benches():
    """The BENCH lines of the other benchmark programs (bench/hal,
    bench/store): every executable there whose name holds "bench"."""
    for sub in ("hal", "store"):
        d = os.path.join(OUT, sub)
        if not os.path.isdir(d):
            notes.append("no benchmark programs in %s" % d)
            continue
        for f in sorted(os.listdir(d)):
            p = os.path.join(d, f)
            if "bench" not in f or not os.access(p, os.X_OK) or \
                    not os.path.isfile(p) or f.endswith((".sh", ".cmake")):
                continue
            say("running %s" % p)
            out = subprocess.run([p], capture_output=True, text=True)
            for line in out.stdout.splitlines():
                if not line.startswith("BENCH "):
                    continue
                print(line, flush=True)
                f2 = {"source": sub}
                for tok in line.split()[1:]:
                    if "=" in tok:
                        k, v = tok.split("=", 1)
                        f2[k] = v
                figures.append(f2)
            if out.returncode != 0:
                notes.append("%s exited %d" % (p, out.returncode))


def report(res):
    notes.append("lazy pages: thawd's lazy restore (manifest lazyPages) "
                 "and plain CRIU's (criu lazy-pages + restore --lazy-pages), "
                 "the app checking 1 page in %d after the restore" % 64)
    rows = []
    for size in SIZES:
        r = res[size]
        c, w, p = median(r["cold"]), median(r["warm"]), median(r["persist"])
        pl = median(r.get("plain", []))
        tags = {"size_mib": size, "reps": REPS}
        if c is not None:
            bench("cold_launch_to_ready", c, "ms", **tags)
        if w is not None:
            bench("warm_launch_to_ready_tmpfs", w, "ms", **tags)
        if p is not None:
            bench("warm_launch_to_ready_persist_cold_cache", p, "ms", **tags)
        if c and w:
            bench("speedup_tmpfs", c / w, "x", cold_ms=round(c, 1),
                  warm_ms=round(w, 1), **tags)
        if c and p:
            bench("speedup_persist_cold_cache", c / p, "x",
                  cold_ms=round(c, 1), warm_ms=round(p, 1), **tags)
        d, fz = median(r["dump"]), median(r["frozen"])
        if d is not None:
            bench("dump_time", d, "ms", **tags)
        if fz is not None:
            bench("frozen_time", fz, "ms", origin="criu-stats-dump", **tags)
        if pl is not None:
            bench("plain_criu_restore_to_ready", pl, "ms", **tags)
        if r["criu_restore"]:
            bench("thawd_criu_restore", median(r["criu_restore"]), "ms",
                  origin="thawd-log", **tags)
            bench("thawd_image_check", median(r["image_check"]), "ms",
                  origin="thawd-log", **tags)
        wp = median(r.get("paired_thaw", []))
        if wp is not None:
            bench("warm_launch_to_ready_tmpfs_paired", wp, "ms", **tags)
        if pl and wp:
            bench("thaw_overhead_vs_plain_criu", (wp - pl) / pl * 100.0, "%",
                  thaw_ms=round(wp, 1), criu_ms=round(pl, 1), **tags)
        mib = r["pages_bytes"] / 1048576.0
        lim, tput = r.get("limit"), None
        if w:
            tput = mib / (w / 1000.0)
            bench("restore_throughput", tput, "MiB/s", pages_mib=round(mib, 1),
                  **tags)
        if lim:
            bench("read_limit", lim, "MiB/s", pages_mib=round(mib, 1), **tags)
        if tput and lim:
            bench("restore_throughput_share_of_limit", tput / lim * 100.0,
                  "%", **tags)
        sm = r.get("sampled") or {}
        sw = median(sm.get("warm", []))
        se, sl = median(sm.get("plain_eager", [])), median(sm.get("plain_lazy", []))
        if sw is not None:
            bench("warm_launch_to_ready_tmpfs_lazy_sampled_check", sw, "ms",
                  **tags)
        if c and sw:
            bench("speedup_lazy_thawd", c / sw, "x", cold_ms=round(c, 1),
                  lazy_ms=round(sw, 1), **tags)
        if sw and sl:
            bench("thaw_lazy_overhead_vs_plain_criu", (sw - sl) / sl * 100.0,
                  "%", thaw_ms=round(sw, 1), criu_ms=round(sl, 1), **tags)
        if se is not None:
            bench("plain_criu_restore_to_ready_sampled_check", se, "ms",
                  **tags)
        if sl is not None:
            bench("plain_criu_lazy_restore_to_ready_sampled_check", sl, "ms",
                  **tags)
        if c and sl:
            bench("speedup_lazy_plain_criu", c / sl, "x", cold_ms=round(c, 1),
                  lazy_ms=round(sl, 1), **tags)
        r["lazy_ms"], r["thaw_lazy_ms"] = sl, sw
        bench("image_size_tmpfs", r["image_bytes"] / 1048576.0, "MiB", **tags)
        bench("image_size_persist", r["persist_bytes"] / 1048576.0, "MiB",
              **tags)
        rows.append((size, c, w, p, (wp, pl), d, fz, tput, lim,
                     r["image_bytes"] / 1048576.0,
                     r["persist_bytes"] / 1048576.0, sw, se, sl))

    def f(v, fmt="%.1f"):
        return "-" if v is None else fmt % v

    print()
    print("%6s %9s %9s %8s %9s %8s %9s %9s %7s %8s %9s %7s %7s %8s" % (
        "MiB", "cold ms", "warm ms", "speedup", "eMMC ms", "speedup",
        "thaw* ms", "criu* ms", "ovhd %", "dump ms", "frozen ms", "MiB/s",
        "limit", "img MiB"))
    for (size, c, w, p, pair, d, fz, tput, lim, ib, pb, sw, se, sl) in rows:
        wp, pl = pair
        print("%6d %9s %9s %8s %9s %8s %9s %9s %7s %8s %9s %7s %7s %8s" % (
            size, f(c), f(w), f(c / w if c and w else None, "%.1fx"), f(p),
            f(c / p if c and p else None, "%.1fx"), f(wp), f(pl),
            f((wp - pl) / pl * 100 if wp and pl else None), f(d), f(fz),
            f(tput, "%.0f"), f(lim, "%.0f"), f(ib)))
    print("(* thaw's warm launch and plain criu restore taken in turns)")
    print()
    print("sampled check (1 page in 64): %6s %14s %12s %14s %9s %7s" % (
        "MiB", "thawd lazy ms", "criu ms", "criu lazy ms", "speedup",
        "ovhd %"))
    for (size, c, w, p, pl, d, fz, tput, lim, ib, pb, sw, se, sl) in rows:
        print("%35d %14s %12s %14s %9s %7s" % (
            size, f(sw), f(se), f(sl),
            f(c / sw if c and sw else None, "%.1fx"),
            f((sw - sl) / sl * 100 if sw and sl else None)))
    print("(speedup: cold over thawd's lazy warm launch; ovhd: thawd lazy "
          "over plain criu lazy)")
    other = [x for x in figures if x.get("source")]
    if other:
        print()
        print("%-44s %12s %s" % ("other benchmarks", "value", "unit"))
        for x in other:
            keys = " ".join("%s=%s" % (k, v) for k, v in x.items()
                            if k not in ("name", "value", "unit", "source"))
            print("%-44s %12s %s %s" % (x.get("name"), x.get("value"),
                                        x.get("unit", ""), keys))
    if apart:
        print("\nlaunches that expected a restore and started cold "
              "(not averaged in): %d" % len(apart))
        for a in apart:
            print("  %s %s: %s (%s)" % (a["app"], a["kind"], a["start"],
                                        a["reason"]))
    for n in notes:
        print("note: " + n)


def plot(res):
    if not shutil.which("gnuplot"):
        notes.append("gnuplot missing: no plots")
        return
    dat = os.path.join(OUT, "launch.dat")
    with open(dat, "w") as f:
        f.write("# MiB cold warm persist plain dump frozen tput limit lazy "
                "thaw_lazy\n")
        for s in SIZES:
            r = res[s]
            vals = [median(r["cold"]), median(r["warm"]), median(r["persist"]),
                    median(r.get("plain", [])), median(r["dump"]),
                    median(r["frozen"])]
            w = vals[1]
            tput = r["pages_bytes"] / 1048576.0 / (w / 1000.0) if w else None
            vals += [tput, r.get("limit"), r.get("lazy_ms"),
                     r.get("thaw_lazy_ms")]
            f.write("%d %s\n" % (s, " ".join(
                "NaN" if v is None else "%.3f" % v for v in vals)))
    script = """
set terminal pngcairo size 900,560 noenhanced font ",10"
set datafile missing "NaN"
set key left top
set grid
set logscale x 2
set xlabel "app state (MiB)"
set output "{o}/launch.png"
set title "home: launch to ready (median of {n})"
set ylabel "ms"
set logscale y
plot "{d}" u 1:2 w lp t "cold", "{d}" u 1:3 w lp t "warm, tmpfs", \\
     "{d}" u 1:4 w lp t "warm, persistent tier, cold cache", \\
     "{d}" u 1:5 w lp t "plain criu restore", \\
     "{d}" u 1:10 w lp t "plain criu lazy pages (sampled check)", \\
     "{d}" u 1:11 w lp t "thawd lazy pages (sampled check)"
unset logscale y
set output "{o}/dump.png"
set title "dump time and frozen time (CRIU stats-dump)"
plot "{d}" u 1:6 w lp t "dump", "{d}" u 1:7 w lp t "frozen"
set output "{o}/throughput.png"
set title "restore throughput vs reading the pages into fresh memory"
set ylabel "MiB/s"
plot "{d}" u 1:8 w lp t "warm restore (pages / launch-to-ready)", \\
     "{d}" u 1:9 w lp t "limit: read into anonymous memory"
""".format(o=OUT, d=dat, n=REPS)
    r = subprocess.run(["gnuplot"], input=script, text=True,
                       capture_output=True)
    if r.returncode != 0:
        # pngcairo may be missing; the plain png terminal is always there.
        script = script.replace("pngcairo size 900,560 noenhanced font \",10\"",
                                "png size 900,560")
        r = subprocess.run(["gnuplot"], input=script, text=True,
                           capture_output=True)
    if r.returncode != 0:
        notes.append("gnuplot failed: " + r.stderr.strip()[:200])


def manifest(root, size, lazy=False):
    app = ("home-lazy-%d" if lazy else "home-%d") % size
    extra = ["--verify", "sample"] if lazy else []
    m = {"id": app, "exec": os.path.join(EX, "thaw-example-home"),
         "args": ["--size", str(size), "--compressible", "25",
                  "--settings-socket", os.path.join(root, "run",
                                                     "settingsd.sock")]
         + extra,
         "env": {}, "checkpointable": True, "lazyPages": lazy}
    with open(os.path.join(root, "apps", app + ".json"), "w") as f:
        json.dump(m, f, indent=1)


def main():
    if os.geteuid() != 0:
        say("run me as root")
        return 1
    # Restored trees outlive `criu restore --restore-detached`: reap them.
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    os.makedirs(OUT, exist_ok=True)
    root = tempfile.mkdtemp(prefix="thaw-bench.", dir="/tmp")
    # The persistent tier must be on a disk for a cold cache to mean it.
    persist = tempfile.mkdtemp(prefix="thaw-bench-persist.", dir="/var/tmp")
    os.chmod(root, 0o755)
    for sub in ("apps", "run", "tmpfs"):
        os.makedirs(os.path.join(root, sub))
    tmpfs = os.path.join(root, "tmpfs")
    mib = sum(SIZES) * 3 + 128
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % mib,
                    "thaw-bench", tmpfs], check=True)
    peers = []
    d = Thawd(root, tmpfs, persist)
    res = {}
    try:
        peers.append(subprocess.Popen(
            [os.path.join(EX, "thaw-example-settingsd"), "--socket",
             os.path.join(root, "run", "settingsd.sock")],
            stdout=subprocess.DEVNULL))
        for s in SIZES:
            manifest(root, s)
            manifest(root, s, lazy=True)
        time.sleep(0.2)
        d.start()
        for s in SIZES:
            say("size %d MiB: %d repetitions" % (s, REPS))
            measure_size(d, root, s, res)
            img = res[s]["image"]
            lims = [read_limit(img, False) for _ in range(REPS)]
            res[s]["limit"] = median([b / 1048576.0 / (u / 1e6)
                                      for b, u in lims if u])
            measure_sampled(d, s, res)
        say("thaw vs plain criu restore of the same images, in turns")
        measure_paired(d, root, res)
        d.stop()
        other_benches()
        report(res)
        plot(res)
        with open(os.path.join(OUT, "results.json"), "w") as f:
            json.dump({"sizes": SIZES, "reps": REPS, "figures": figures,
                       "runs": runs, "countedApart": apart, "notes": notes,
                       "raw": {str(k): {kk: vv for kk, vv in v.items()}
                               for k, v in res.items()}}, f, indent=1)
        say("wrote %s/results.json and %s/*.png" % (OUT, OUT))
        return 0
    finally:
        d.stop()
        shutil.copy(os.path.join(root, "thawd.log"),
                    os.path.join(OUT, "thawd.log"))
        for p in peers:
            p.terminate()
            p.wait()
        # Whatever thawd or a plain restore left running.
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                env = open("/proc/%s/environ" % pid, "rb").read()
            except OSError:
                continue
            if ("THAW_SOCKET=%s" % d.sock).encode() in env.split(b"\0"):
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
        subprocess.run(["umount", "-l", tmpfs])
        if os.environ.get("THAW_BENCH_KEEP") == "1":
            say("kept %s and %s" % (root, persist))
        else:
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(persist, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
