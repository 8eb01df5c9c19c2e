#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Kills a process at the right moment of a CRIU operation.

    rel-killer.py SOCKET WHEN TARGET [--timeout S]

WHEN (polled every 2 ms):
    stopped:ID          a process of app ID (THAW_APP_ID=ID, THAW_SOCKET=
                        SOCKET) is stopped (t or T): CRIU has seized it
    file:GLOB:REGEX     a file matching GLOB holds a line matching REGEX
TARGET:
    app:ID              every process of app ID
    pidfile:PATH        the pid on PATH's last line (the CRIU wrapper's)
    pid:N               that pid
    lazy:DIR            the `criu lazy-pages` server working in DIR/...

Prints what it killed and exits 0, or exits 1 when WHEN never came.
"""
import glob
import os
import re
import signal
import sys
import time


def app_pids(sock, app):
    want = {b"THAW_SOCKET=" + sock.encode(), b"THAW_APP_ID=" + app.encode()}
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = set(f.read().split(b"\0"))
        except OSError:
            continue
        if want <= env:
            pids.append(int(d))
    return pids


def lazy_servers(work_parent):
    """CRIU itself, not a wrapper (strace) that runs it."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                comm = f.read().strip()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if not comm.startswith("criu") or b"lazy-pages" not in argv:
            continue
        if "--work-dir" in (a.decode(errors="replace") for a in argv):
            i = argv.index(b"--work-dir")
            if i + 1 < len(argv) and argv[i + 1].decode(
                    errors="replace").startswith(work_parent + "/"):
                found.append(int(d))
    return found


def state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def came(sock, when):
    kind, _, arg = when.partition(":")
    if kind == "stopped":
        return any(state(p) in ("t", "T") for p in app_pids(sock, arg))
    if kind == "file":
        pattern, _, regex = arg.partition(":")
        for path in glob.glob(pattern):
            try:
                with open(path, errors="replace") as f:
                    if re.search(regex, f.read(), re.M):
                        return True
            except OSError:
                pass
        return False
    raise SystemExit("bad WHEN " + when)


def targets(sock, target):
    kind, _, arg = target.partition(":")
    if kind == "app":
        return app_pids(sock, arg)
    if kind == "pidfile":
        with open(arg) as f:
            return [int(f.read().split()[-1])]
    if kind == "pid":
        return [int(arg)]
    if kind == "lazy":
        return lazy_servers(arg)
    raise SystemExit("bad TARGET " + target)


def main():
    args = sys.argv[1:]
    timeout = 20.0
    if "--timeout" in args:
        i = args.index("--timeout")
        timeout = float(args[i + 1])
        del args[i:i + 2]
    sock, when, target = args
    end = time.monotonic() + timeout
    while not came(sock, when):
        if time.monotonic() > end:
            print("rel-killer: %s never came" % when, flush=True)
            return 1
        time.sleep(0.002)
    pids = targets(sock, target)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    print("rel-killer: %s: killed %s (%s)" %
          (when, target, " ".join(map(str, pids))), flush=True)
    return 0 if pids else 1


sys.exit(main())
