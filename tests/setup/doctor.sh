#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# thawctl doctor on this machine, no thawd needed: it must find the CRIU
# of the build (4.2 or newer), have `criu check` pass and say so; its
# --json form must agree.
set -euo pipefail

thawctl=$THAW_BUILD_DIR/cli/thawctl
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() {
	echo "FAIL: $*" >&2
	echo "--- thawctl doctor said:" >&2
	cat "$out" >&2
	exit 1
}

rc=0
"$thawctl" doctor >"$out" 2>&1 || rc=$?
cat "$out"
[ "$rc" -eq 0 ] || fail "thawctl doctor exited $rc"
grep -q "^CRIU  *$THAW_CRIU " "$out" || fail "does not name $THAW_CRIU"
grep -Eq '^CRIU version +(4\.([2-9]|[1-9][0-9])|[5-9]\.[0-9]+)\.' "$out" ||
	fail "does not report CRIU 4.2 or newer"
grep -q '^criu check  *Looks good' "$out" || fail "criu check did not pass"
grep -q '^verdict  *Looks good' "$out" || fail "no 'Looks good' verdict"
for f in userfaultfd 'time namespaces' soft-dirty '/run on tmpfs'; do
	grep -q "^$f " "$out" || fail "no line for $f"
done

rc=0
"$thawctl" doctor --json >"$out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "thawctl doctor --json exited $rc"
python3 - "$out" "$THAW_CRIU" <<'PY' || fail "--json answer is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["usable"] is True, d
assert d["criu"]["path"] == sys.argv[2], d
major, minor = map(int, d["criu"]["version"].split(".")[:2])
assert (major, minor) >= (4, 2), d
assert d["criu"]["checkOk"] is True, d
for k in ("userfaultfd", "timeNamespaces", "softDirty", "runIsTmpfs"):
    assert isinstance(d["kernel"][k], bool), k
PY

# A CRIU that is not there is reported unusable, with exit code 5.
rc=0
THAW_CRIU=/nonexistent/criu "$thawctl" doctor >"$out" 2>&1 || rc=$?
[ "$rc" -eq 5 ] || fail "a missing CRIU gave exit code $rc, not 5"
grep -q 'NOT usable' "$out" || fail "a missing CRIU is not called unusable"
echo "PASS: thawctl doctor"
