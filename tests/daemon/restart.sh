# SPDX-License-Identifier: LGPL-2.1-or-later
#
# thawd killed outright leaves its apps orphaned; the next thawd on the
# same socket ends them (its documented choice) before it serves, so no
# app is left behind, and launches work as before.
. "$(dirname "$0")/common.sh"

th_init
td_app_manifest app '["--mib", "2"]'
th_start_thawd
td_launch app
pid=$(td_field pid)
th_wait_log 'dumped in' 10 || th_fail "no dump"
kill -KILL "$TH_THAWD_PID"
wait "$TH_THAWD_PID" 2>/dev/null
TH_THAWD_PID=
kill -0 "$pid" || th_fail "the app died with thawd (nothing to test)"

th_start_thawd
th_wait_log "app process $pid left behind by an earlier thawd, ending it" 5 ||
	th_fail "the orphan was not ended"
th_wait_until 5 eval '! kill -0 $pid 2>/dev/null' || th_fail "orphan $pid lives on"
td_launch app
[[ $(td_field start) == restored ]] || th_fail "not restored after restart"
exit 0
