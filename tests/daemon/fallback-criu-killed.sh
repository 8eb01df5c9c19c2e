# SPDX-License-Identifier: LGPL-2.1-or-later
#
# CRIU killed in the middle of a dump.  First the app survives untouched:
# same pid, still running, memory checked, the launch answered.  Then the
# app is left stopped as well (as when CRIU dies while its code runs in
# the app): thawd notices and starts it again cold, and that copy dumps.
. "$(dirname "$0")/common.sh"

th_init
marker=$TH_ROOT/killed
wrapper=$TH_ROOT/killing-criu
cat >"$wrapper" <<WRAP
#!/bin/bash
# Only the first CRIU run is killed (thawd's version query aside);
# later ones run normally.
if [[ -e "$marker" || \$1 == --version ]]; then exec "$TH_CRIU" "\$@"; fi
touch "$marker"
if [[ \$(cat "$TH_ROOT/mode") == stop ]]; then
	# The app is thawd's child (thawd is this script's parent).
	for p in \$(cat /proc/\$PPID/task/*/children); do
		[[ \$(readlink /proc/\$p/exe) == "$TD_APP" ]] && kill -STOP \$p
	done
fi
"$TH_CRIU" "\$@" &
criu=\$!
sleep 0.02
kill -KILL \$criu
wait \$criu
exit 1
WRAP
chmod +x "$wrapper"
td_app_manifest app '["--mib", "16", "--seed", "5"]'

echo run >"$TH_ROOT/mode"
th_start_thawd --criu "$wrapper" --dump-timeout 3
td_launch app
[[ $(td_field start) == cold && $(td_field ready) == true ]] ||
	th_fail "launch not answered with a ready cold app: $TD_ANSWER"
[[ -n $(td_field checkpointError) ]] ||
	th_fail "the answer does not say the dump failed: $TD_ANSWER"
pid=$(td_field pid)
th_wait_log 'app: checkpoint failed' 5 || th_fail "the app was not told"
kill -0 "$pid" || th_fail "the app died with CRIU"
grep -q '^State:.*[Tt]' /proc/"$pid"/status && th_fail "the app is left stopped"
[[ $(th_log_count 'memory CORRUPT') == 0 ]] || th_fail "memory damaged"
[[ -e $TH_TMPFS_DIR/app/current ]] && th_fail "a killed dump left an image"
td_close app
th_stop_thawd

rm -f "$marker"
echo stop >"$TH_ROOT/mode"
th_start_thawd --criu "$wrapper" --dump-timeout 3
td_launch app
th_wait_log 'left stopped by the failed dump, starting it again cold' 10 ||
	th_fail "thawd did not notice the stopped app"
[[ $(td_field ready) == true && $(td_field pid) != "$pid" ]] ||
	th_fail "launch not answered by a new cold copy: $TD_ANSWER"
kill -0 "$(td_field pid)" || th_fail "the new copy is not running"
th_wait_log 'app\[[0-9]+\]: dumped in' 10 || th_fail "the new copy did not dump"
td_close app
td_launch app
[[ $(td_field start) == restored ]] || th_fail "not restored afterwards"
exit 0
