# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A restored copy whose HAL cannot take its resources back (inputcommon's
# bus daemon is gone, so its socket cannot reconnect) exits at once rather
# than run on without them: the launch is answered well before thawd's
# ready timeout (here with an error, since a cold start needs the bus
# too), and once the bus is back the next launch gives a running app.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
ex_start --ready-timeout 60
ex_launch inputcommon
th_expect '[[ $EX_START == cold ]]' "first launch started '$EX_START'"
ex_wait_image inputcommon
ex_close inputcommon

# busd is the second peer ex_start_peers starts.
kill -TERM "${EX_PEER_PIDS[1]}"
wait "${EX_PEER_PIDS[1]}" 2>/dev/null

t0=$(date +%s)
ex_launch inputcommon
t1=$(date +%s)
th_expect 'th_wait_log "inputcommon: restored without its resources, exiting: .*PostRestoreNotify" 5' \
	"the restored copy did not say why it exited"
th_expect '((t1 - t0 < 30))' \
	"the launch took $((t1 - t0)) s: it waited for the ready timeout"
th_expect '[[ $EX_OK == false ]] || [[ $EX_START == cold-after-failed-restore ]]' \
	"launch without the bus daemon: $EX_ANSWER"
th_expect '! ex_running inputcommon' "a copy without its bus runs on"

"$EX_BIN/thaw-example-busd" --socket "$TH_RUN_DIR/busd.sock" \
	>>"$TH_ROOT/peers.log" 2>&1 &
EX_PEER_PIDS[1]=$!
th_wait_until 5 test -S "$TH_RUN_DIR/busd.sock" || th_fail "busd did not start again"
ex_launch inputcommon
th_expect '[[ $EX_OK == true && $EX_START == cold* ]]' \
	"launch with the bus back: $EX_ANSWER"
th_expect 'ex_running inputcommon' "inputcommon is not running"
ex_close inputcommon
