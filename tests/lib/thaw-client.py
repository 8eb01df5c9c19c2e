#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A tiny client of thawd's control socket for the tests.

    thaw-client.py SOCKET METHOD [PAYLOAD-JSON] [--lines N] [--timeout S]

Sends one request line and prints each answer line as it comes: one line
unless --lines asks for more (a subscription).  Exits 0 when the first
answer has "returnValue": true, 1 when false, 2 on a transport error.
"""
import json
import socket
import sys


def main():
    args = sys.argv[1:]
    lines, timeout, raw = 1, 30.0, None
    while "--lines" in args:
        i = args.index("--lines")
        lines = int(args[i + 1])
        del args[i:i + 2]
    while "--timeout" in args:
        i = args.index("--timeout")
        timeout = float(args[i + 1])
        del args[i:i + 2]
    while "--raw" in args:
        i = args.index("--raw")
        raw = args[i + 1]
        del args[i:i + 2]
    if len(args) < 1 or (raw is None and len(args) < 2):
        sys.stderr.write(__doc__)
        return 2
    path = args[0]
    if raw is None:
        req = {"method": args[1]}
        if len(args) > 2:
            req["payload"] = json.loads(args[2])
        data = (json.dumps(req) + "\n").encode()
    else:
        data = raw.encode().decode("unicode_escape").encode("latin-1")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(data)
        buf = b""
        got = []
        while len(got) < lines:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf and len(got) < lines:
                line, buf = buf.split(b"\n", 1)
                got.append(line.decode())
                print(got[-1], flush=True)
    except OSError as e:
        sys.stderr.write("thaw-client: %s\n" % e)
        return 2
    if not got:
        sys.stderr.write("thaw-client: no answer\n")
        return 2
    try:
        return 0 if json.loads(got[0]).get("returnValue") else 1
    except ValueError:
        return 2


sys.exit(main())
