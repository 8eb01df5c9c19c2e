# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A cold launch that checkpoints, then a warm launch that restores the app
# with its memory intact under a new host pid, its output (the verdict)
# reaching thawd's log; then thawctl launch restores it too.
. "$(dirname "$0")/common.sh"

th_init
td_app_manifest app '["--mib", "16", "--seed", "7"]'
th_start_thawd

td_launch app
[[ $(td_field start) == cold ]] || th_fail "first launch not cold: $TD_ANSWER"
cold_pid=$(td_field pid)
th_wait_log 'app\[[0-9]+\]: dumped in' 10 || th_fail "no dump logged"
th_wait_log 'app: checkpoint result dumped' 10 ||
	th_fail "the original was not told it was dumped"
kill -0 "$cold_pid" || th_fail "the original died after its dump"

td_close app
[[ -e /proc/$cold_pid ]] && th_fail "pid $cold_pid survived the close"

td_launch app '"params": {"from": "test"}'
[[ $(td_field start) == restored ]] ||
	th_fail "second launch not restored: $TD_ANSWER"
warm_pid=$(td_field pid)
[[ $warm_pid != "$cold_pid" ]] || th_fail "restored under the same pid"
kill -0 "$warm_pid" || th_fail "restored pid $warm_pid is not alive"
th_wait_log 'app: memory intact after restore \(16 MiB, seed 7\)' 10 ||
	th_fail "the restored app did not find its memory intact"
th_wait_log 'app: launch params \{"from":"test"\}' 5 ||
	th_fail "the restored app did not get its launch params"

th_note "cold $(grep -oE 'launched cold, ready in [0-9.]+ ms' "$TH_LOG" | head -1)," \
	"warm $(grep -oE 'launched restored, ready in [0-9.]+ ms' "$TH_LOG" | head -1)"
td_close app

# The same through thawctl.
out=$(thawctl_t launch app) || th_fail "thawctl launch failed: $out"
[[ $out == *restored* ]] || th_fail "thawctl launch did not restore: $out"
exit 0
