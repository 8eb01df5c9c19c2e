# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Each example app runs without thawd (for debugging): its checkpoint
# request answers -ENOTCONN, it says so and keeps running, holding its
# resources.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
declare -A args=(
	[home]="--settings-socket $TH_RUN_DIR/settingsd.sock"
	[inputcommon]="--bus-socket $TH_RUN_DIR/busd.sock"
	[livemenu]="--shm-key $EX_SHM_KEY --settings $EX_DATA_DIR/alone.settings"
)
for app in "${EX_APPS[@]}"; do
	out=$TH_ROOT/$app.out
	# shellcheck disable=SC2086
	env -u THAW_SOCKET "$EX_BIN/thaw-example-$app" --size 4 ${args[$app]} \
		>"$out" 2>&1 &
	pid=$!
	th_wait_until 20 grep -q "running alone" "$out" ||
		th_fail "$app: $(cat "$out")"
	grep -q "^$app: cold init: state 4 MiB" "$out" ||
		th_fail "$app did not report its cold init: $(cat "$out")"
	kill -0 "$pid" 2>/dev/null || th_fail "$app exited: $(cat "$out")"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
done
th_note "all three ran alone"
