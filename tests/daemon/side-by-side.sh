# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Two restores of one image side by side while the original still runs:
# each copy lives in a PID namespace of its own, so no PID collides.  The
# copies are launched by two more thawds sharing the first one's tiers
# (one thawd runs one copy of an app).  Each takes over the socket path in
# turn, as a restored copy talks to the socket its image names.
. "$(dirname "$0")/common.sh"

th_init
td_app_manifest app '["--mib", "16", "--seed", "3"]'
th_start_thawd
td_launch app
orig=$(td_field pid)
th_wait_log 'app\[[0-9]+\]: dumped in' 10 || th_fail "no dump"

th_start_thawd_extra b --socket "$TH_SOCKET"
td_launch app
[[ $(td_field start) == restored ]] || th_fail "b did not restore: $TD_ANSWER"
pb=$(td_field pid)
th_start_thawd_extra c --socket "$TH_SOCKET"
td_launch app
[[ $(td_field start) == restored ]] || th_fail "c did not restore: $TD_ANSWER"
pc=$(td_field pid)

for p in "$orig" "$pb" "$pc"; do
	kill -0 "$p" || th_fail "pid $p is not running"
done
ns=$(for p in "$orig" "$pb" "$pc"; do readlink /proc/"$p"/ns/pid; done | sort -u | wc -l)
[[ $ns == 3 ]] || th_fail "the three copies share PID namespaces"
for l in b c; do
	th_wait_until 5 grep -q 'memory intact after restore (16 MiB, seed 3)' \
		"$TH_ROOT/$l.log" || th_fail "copy $l did not find its memory intact"
done
[[ $(cat /proc/{"$orig","$pb","$pc"}/status | grep -c 'NSpid:.*	1$') == 3 ]] ||
	th_fail "not every copy is PID 1 of its namespace"
exit 0
