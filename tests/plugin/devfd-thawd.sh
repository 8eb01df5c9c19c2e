#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The thaw-devfd plugin as thawd uses it: an app that holds
# /dev/cpu_dma_latency and /dev/hwrng, with both in its manifest's device
# policy, dumps itself on its cold launch and is restored on the next with
# the devices back at their numbers; an app holding a device its policy
# does not name cannot be dumped, keeps running, and its next launch is
# cold.
. "$THAW_TEST_LIB/harness.sh"
th_init

app=$TH_BUILD/tests/libthaw/selfdump-app

# Launches ID with its report going to $TH_ROOT/REPORT; prints thawctl's
# line.
launch() {
	local out
	out=$(thawctl_t launch "$1" --params "{\"report\":\"$TH_ROOT/$2\"}" \
		2>"$TH_ROOT/err") ||
		th_fail "launch of $1 failed: $(cat "$TH_ROOT/err")"
	echo "$out"
}

report_says() {
	th_wait_until 15 grep -q -- "$2" "$TH_ROOT/$1" 2>/dev/null
}

th_manifest devices - <<JSON
{ "id": "devices", "exec": "$app", "checkpointable": true,
  "args": ["--hold-rw", "/dev/cpu_dma_latency", "--hold", "/dev/hwrng"],
  "policy": { "devices": ["/dev/cpu_dma_latency", "/dev/hw*"] } }
JSON
th_manifest nopolicy - <<JSON
{ "id": "nopolicy", "exec": "$app", "checkpointable": true,
  "args": ["--hold", "/dev/hwrng"],
  "policy": { "devices": ["/dev/cpu_dma_latency"] } }
JSON
th_start_thawd

launch devices r1
report_says r1 "^dumped " || th_fail "the app holding devices was not dumped"
ls "$TH_TMPFS_DIR"/devices/current/thaw-devfd-*.img >/dev/null ||
	th_fail "the image has no device records"
thawctl_t close devices >/dev/null || th_fail "close failed"
out=$(launch devices r2)
echo "$out"
[[ $out == "devices: restored,"* ]] || th_fail "the warm launch says: $out"
report_says r2 "^restored " || th_fail "the copy did not report"
grep -q "^restored mem=ok .*devices=ok" "$TH_ROOT/r2" ||
	th_fail "the devices are not back: $(cat "$TH_ROOT/r2")"
echo "ok: dumped and restored through thawd with two device fds"

launch nopolicy r3
report_says r3 "^error checkpoint" ||
	th_fail "a device outside the policy did not stop the dump"
thawctl_t status nopolicy | grep -q "nopolicy: launched" ||
	th_fail "the app did not keep running after the failed dump"
thawctl_t close nopolicy >/dev/null || th_fail "close of nopolicy failed"
out=$(launch nopolicy r4)
[[ $out == "nopolicy: cold,"* ]] || th_fail "nopolicy's second launch: $out"
echo "ok: a device outside the policy blocks the dump, the app runs on"
echo "PASS: plugin-devfd-thawd"
