# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A damaged image is refused: the launch starts the app cold, says why,
# the image is invalidated, and the cold app dumps a fresh one that the
# next launch restores.  Then a restore that runs past its deadline (CRIU
# slowed by strace) is killed, and the launch again ends cold.
. "$(dirname "$0")/common.sh"

th_init
td_app_manifest app '["--mib", "8", "--seed", "11"]'
th_start_thawd

td_launch app
[[ $(td_field start) == cold ]] || th_fail "first launch not cold"
th_wait_log 'dumped in' 10 || th_fail "no dump"
td_close app

img=$(readlink -f "$TH_TMPFS_DIR/app/current")
pages=$(ls "$img"/pages-*.img | head -1)
[[ -f $pages ]] || th_fail "no pages file in $img"
# Flip one byte in the middle: CRIU itself would restore this silently.
size=$(stat -c %s "$pages")
printf '\xff' | dd of="$pages" bs=1 seek=$((size / 2)) conv=notrunc status=none

td_launch app
[[ $(td_field start) == cold-after-failed-restore ]] ||
	th_fail "damaged image not refused: $TD_ANSWER"
[[ -n $(td_field reason) ]] || th_fail "no reason in the answer"
[[ $(th_log_count 'restore failed') == 1 ]] ||
	th_fail "the failed restore is not logged exactly once"
th_wait_log 'app\[[0-9]+\]: dumped in' 10 || th_fail "no fresh dump"
th_wait_until 10 eval '[[ $(th_log_count "dumped in") == 2 ]]' ||
	th_fail "the cold app did not dump anew"
td_close app

td_launch app
[[ $(td_field start) == restored ]] || th_fail "fresh image not restored: $TD_ANSWER"
th_wait_log 'memory intact after restore \(8 MiB, seed 11\)' 10 ||
	th_fail "memory not intact after the fresh image"
td_close app
th_stop_thawd

# A restore past its deadline: every clone of CRIU's main process waits
# 3 s, the deadline is 1 s.
slow=$TH_ROOT/slow-criu
cat >"$slow" <<SLOW
#!/bin/sh
exec strace -qq -o /dev/null -e trace=clone,clone3 -e inject=clone,clone3:delay_enter=3000000 "$TH_CRIU" "\$@"
SLOW
chmod +x "$slow"
th_start_thawd --criu "$slow" --restore-timeout 1 --dump-timeout 2
td_launch app
[[ $(td_field start) == cold-after-failed-restore ]] ||
	th_fail "slow restore not abandoned: $TD_ANSWER"
grep -q 'deadline' <<<"$(td_field reason)" ||
	th_fail "reason does not name the deadline: $TD_ANSWER"
pid=$(td_field pid)
kill -0 "$pid" || th_fail "cold app $pid not running"
# Nothing of the abandoned restore is left: the app is thawd's only child.
th_wait_until 5 eval '[[ $(cat /proc/$TH_THAWD_PID/task/*/children) == "$pid " ]]' ||
	th_fail "thawd has other children than the app: $(cat /proc/$TH_THAWD_PID/task/*/children)"
n=$(th_strays | wc -l)
[[ $n == 1 ]] || th_fail "$n processes of the app run, expected 1: $(th_strays | xargs ps -o pid,ppid,stat,cmd -p)"
exit 0
