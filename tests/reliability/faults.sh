# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Faults caused for real, one per test: the kind is the test's name
# after "rel-fault-" (or $REL_FAULT).
#   criu-dump       CRIU SIGKILLed while it has the app seized (dump)
#   criu-parasite   CRIU SIGKILLed while its parasite runs in the app, as
#                   it dumps the pages (dump)
#   criu-restore    CRIU SIGKILLed while it writes its restore log
#   app-dump        the app SIGKILLed while CRIU has it seized
#   thawd-launch    thawd SIGKILLed during a restore, then started again
#   thawd-dump      thawd SIGKILLed while CRIU has the app seized
#   thawd-persist   thawd SIGKILLed right after a dump, while the image is
#                   copied to the persistent tier
#   persist-full    the persistent file system is full
#   persist-ro      it is remounted read-only under thawd
#   persist-gone    it is lazily unmounted under thawd
#   device          a device node the image holds is removed before the
#                   restore (the thaw-devfd plugin reopens it by path)
#   lazy-pages      the lazy-pages server SIGKILLed as the lazy restore
#                   ends, while it still copies pages in (slowed by
#                   strace): thawd must not leave the app with holes
#                   where its memory was
# After each: thawd answers, no process of the test is stopped (t/T) or
# runs outside thawd's tree, no CRIU is left, the next launch gives a
# running app that verifies its state, and a later launch restores an
# image that verifies: no damaged image is ever restored (every restored
# copy checks its whole state, rel-app).
. "$(dirname "$0")/rel-lib.sh"

kind=${REL_FAULT:-${TH_NAME#rel-fault-}}
REL_KILLER=$(dirname "$0")/rel-killer.py

rel_init
export REL_TAG=$TH_ROOT
rel_criu_wrapper

# CRIU processes of this test (they inherit REL_TAG from thawd) still
# alive, half-restored trees included (they are CRIU until restored).
criu_left() {
	local p
	for p in $(grep -lazx -- "REL_TAG=$TH_ROOT" /proc/[0-9]*/environ 2>/dev/null |
		sed 's|^/proc/||; s|/environ$||'); do
		[[ $(cat /proc/"$p"/comm 2>/dev/null) == criu* ]] && echo "$p"
	done
	return 0
}

after_fault() {
	local left
	rel_serves
	th_wait_until 10 eval '[[ -z $(criu_left) ]]' ||
		th_fail "CRIU left running after the fault: $(criu_left)"
	rel_no_frozen all
	rel_no_orphans
}

# A launch that must give a running app: restored (and verified) or
# cold; a restore CRIU tried and failed means a damaged image got to it.
launch_any() {
	local answer start
	answer=$(rel_call launch "{\"id\": \"$1\"}") ||
		th_fail "launch after the fault failed: $answer"
	start=$(rel_field start <<<"$answer")
	case $start in
	restored) REL_PID=$(rel_field pid <<<"$answer")
		rel_wait_result "$REL_PID" restored
		rel_stat restored ;;
	cold) REL_PID=$(rel_field pid <<<"$answer")
		rel_wait_result "$REL_PID" dumped
		rel_stat cold ;;
	*) th_fail "launch after the fault: start '$start': $answer" ;;
	esac
	REL_PIDS+=("$REL_PID")
	REL_NS[$(readlink "/proc/$REL_PID/ns/pid")]=1
}

# The app's image works again: close, launch restored, verified, close.
image_works() {
	rel_close "$1"
	rel_launch "$1" restored
	rel_close "$1"
}

killer() {
	"$REL_PY" "$REL_KILLER" "$TH_SOCKET" "$@" >"$TH_ROOT/killer.out" 2>&1 &
	REL_KILLER_PID=$!
}

killer_done() {
	wait "$REL_KILLER_PID" ||
		th_fail "the fault was not caused: $(cat "$TH_ROOT/killer.out")"
	th_note "$(cat "$TH_ROOT/killer.out")"
	rel_stat "fault_$kind"
}

# Deadlines far above what CRIU needs: the faults here are kills, not
# a loaded machine's slowness.
start() {
	th_start_thawd --criu "$REL_CRIU" --dump-timeout 20 \
		--restore-timeout 20 "$@"
}

restart_thawd() {
	wait "$TH_THAWD_PID" 2>/dev/null
	TH_THAWD_PID=
	echo "----- thawd started again -----" >>"$TH_LOG"
	start "$@"
}

# A fresh tmpfs tier, as after a reboot: only the persistent copy left.
reboot() {
	th_stop_thawd
	rel_no_leftovers
	umount "$TH_TMPFS_DIR" || th_fail "cannot unmount the tmpfs tier"
	mount -t tmpfs -o size=256m,mode=0700 thaw-test "$TH_TMPFS_DIR" ||
		th_fail "cannot mount a new tmpfs tier"
	start "$@"
}

fault_criu_op() {
	local op=$1
	rel_manifest app 16 5
	start
	if [[ $op == restore ]]; then
		rel_launch app cold
		rel_close app
		killer "file:$TH_RUN_DIR/work-app-*/restore.log:." pidfile:"$REL_CTL/pids"
		rel_launch app fallback
	else
		if [[ $op == parasite ]]; then
			killer "file:$TH_TMPFS_DIR/app/.new-*/dump.log:Dumping pages" \
				pidfile:"$REL_CTL/pids"
		else
			killer stopped:app pidfile:"$REL_CTL/pids"
		fi
		# Whether the app survived (dump failed, it goes on) or died
		# with CRIU's code inside it (thawd starts it again cold),
		# the launch gives a running app.
		answer=$(rel_call launch '{"id": "app"}') ||
			th_fail "launch during which CRIU was killed: $answer"
		[[ $(rel_field start <<<"$answer") == cold ]] ||
			th_fail "launch with a failed dump: $answer"
		REL_PID=$(rel_field pid <<<"$answer")
		kill -0 "$REL_PID" || th_fail "launch answered pid $REL_PID, not alive"
		th_wait_until 15 test -s "$REL_RESULTS/$REL_PID.result" ||
			th_fail "app pid $REL_PID wrote no result file"
		grep -qx "result ok" "$REL_RESULTS/$REL_PID.result" ||
			th_fail "app pid $REL_PID found its state changed"
		th_note "launch answer: $answer"
	fi
	killer_done
	after_fault
	rel_is_stopped app || rel_close app
	launch_any app
	image_works app
}

fault_app_dump() {
	rel_manifest app 16 6
	start
	killer stopped:app app:app
	answer=$(rel_call launch '{"id": "app"}')
	th_note "launch answer: $answer"
	killer_done
	after_fault
	rel_is_stopped app || rel_close app
	launch_any app
	image_works app
}

fault_thawd() {
	local when=$1
	rel_manifest app 16 7
	[[ $when == persist ]] && th_persist_loop 64
	start ${TH_PERSIST_DIR:+--persist-dir "$TH_PERSIST_DIR"}
	case $when in
	launch)
		rel_launch app cold
		rel_close app
		killer "file:$TH_RUN_DIR/work-app-*/restore.log:." pid:"$TH_THAWD_PID" ;;
	dump)
		killer stopped:app pid:"$TH_THAWD_PID" ;;
	persist)
		killer "file:$TH_LOG:app\[[0-9]+\]: dumped in" pid:"$TH_THAWD_PID" ;;
	esac
	answer=$(rel_call launch '{"id": "app"}')
	th_note "launch answer as thawd was killed: $answer"
	killer_done
	restart_thawd ${TH_PERSIST_DIR:+--persist-dir "$TH_PERSIST_DIR"}
	new=$(find "$TH_TMPFS_DIR" -maxdepth 2 -name '.new-*')
	[[ -z $new ]] || th_fail "half-written image left after the restart: $new"
	after_fault
	launch_any app
	local n
	n=$(rel_instances | awk '$1 == "app" {print $2}')
	((n == 1)) || th_fail "app has $n instances after thawd's restart"
	image_works app
	if [[ $when == persist ]]; then
		# The copy the kill cut short is written again (the store says
		# so at the next restore); after a reboot the image restores.
		th_wait_until 20 eval "sed -n '/thawd started again/,\$p' \"\$TH_LOG\" |
			grep -q 'image copied to the persistent tier'" ||
			th_fail "the persistent copy was never written again"
		reboot --persist-dir "$TH_PERSIST_DIR"
		rel_launch app restored
		rel_close app
	fi
}

fault_persist() {
	local how=$1
	rel_manifest app 16 8
	# Room for the copy, but when the fault is that there is none.
	if [[ $how == full ]]; then
		th_persist_loop 16
	else
		th_persist_loop 64
	fi
	start --persist-dir "$TH_PERSIST_DIR"
	case $how in
	full)
		dd if=/dev/zero of="$TH_PERSIST_DIR/filler" bs=1M 2>/dev/null
		sync ;;
	ro) mount -o remount,ro "$TH_PERSIST_DIR" ||
		th_fail "cannot remount the persistent tier read-only" ;;
	gone) umount -l "$TH_PERSIST_DIR" ||
		th_fail "cannot unmount the persistent tier" ;;
	esac
	rel_stat "fault_$kind"
	rel_launch app cold
	th_wait_log 'app\[[0-9]+\]: image (not )?copied to the persistent tier' 20 ||
		th_fail "no word on the copy to the persistent tier"
	th_note "$(grep -E 'persistent tier' "$TH_LOG" | tail -1)"
	after_fault
	image_works app
	[[ $how == ro ]] && mount -o remount,rw "$TH_PERSIST_DIR"
	if [[ $how != gone ]]; then
		left=$(find "$TH_PERSIST_DIR" -name '.new-*' -o -name '*.tmp')
		[[ -z $left ]] || th_fail "partial copies left: $left"
	fi
	reboot --persist-dir "$TH_PERSIST_DIR"
	launch_any app
	rel_close app
}

# A copy of /dev/hwrng's node: CRIU refuses such a device fd by itself,
# so the image holds it only through the thaw-devfd plugin and the app's
# device policy, and its restore reopens it by path.
fault_device() {
	local dev=$TH_ROOT/dev/relrng mm
	mm=$(stat -c '0x%t 0x%T' /dev/hwrng) || th_fail "no /dev/hwrng to copy"
	mkdir -p "$TH_ROOT/dev"
	# shellcheck disable=SC2086
	mknod "$dev" c $mm || th_fail "cannot mknod $dev"
	rel_manifest app 4 9 "\"--device\", \"$dev\"" \
		"\"policy\": {\"devices\": [\"$dev\"]}"
	start
	rel_launch app cold
	grep -q "device $dev held" "$TH_LOG" || th_fail "the app did not hold $dev"
	rel_close app
	rm -f "$dev"
	rel_stat "fault_$kind"
	rel_launch app fallback
	th_note "restore without the device: $(rel_field reason <<<"$REL_ANSWER")"
	after_fault
	rel_close app
	# shellcheck disable=SC2086
	mknod "$dev" c $mm || th_fail "cannot mknod $dev again"
	launch_any app
	image_works app
	grep -q 'thaw-devfd' "$TH_RUN_DIR/app.restore.log" ||
		th_fail "the failed restore did not go through the plugin"
}

# A field of app ID's entry in the running list ("" when not there).
running_field() {
	rel_call running | "$REL_PY" -c '
import json, sys
for r in json.loads(sys.stdin.readline()).get("running", []):
    if r.get("id") == sys.argv[1]:
        print(r.get(sys.argv[2], ""))' "$1" "$2"
}

fault_lazy_pages() {
	local answer start pid
	rel_manifest app 16 11 "" '"lazyPages": true'
	start
	rel_launch app cold
	rel_close app
	echo 200000 >"$REL_CTL/lazy-slow"
	killer "file:$TH_RUN_DIR/work-app-*/restore.log:Restore finished successfully" \
		"lazy:$TH_RUN_DIR"
	# The launch may end before the kill (the app was ready first) or
	# after it (a cold start): either way the restored copy must go.
	answer=$(rel_call launch '{"id": "app"}') ||
		th_fail "launch during which the lazy-pages server was killed: $answer"
	th_note "launch answer: $answer"
	start=$(rel_field start <<<"$answer")
	pid=$(rel_field pid <<<"$answer")
	killer_done
	rm -f "$REL_CTL/lazy-slow"
	th_wait_until 20 grep -q "app\[[0-9]*\]: the lazy-pages server was killed by signal 9 .* its memory is incomplete" "$TH_LOG" ||
		th_fail "thawd did not end the app whose pages were lost"
	if [[ $start == restored ]]; then
		th_wait_until 20 eval '! kill -0 '"$pid"' 2>/dev/null' ||
			th_fail "the restored app $pid lives on without its pages"
	fi
	# The app started again cold, and verifies its state.
	th_wait_until 20 eval '[[ $(running_field app start) == cold* ]]' ||
		th_fail "app not running cold after the fault: $(rel_call running)"
	pid=$(running_field app pid)
	rel_wait_result "$pid" dumped
	[[ -e $TH_RUN_DIR/app.lazy-pages.log ]] ||
		th_fail "the killed server's log was not kept"
	after_fault
	image_works app
	grep -q "app\[[0-9]*\]: lazy pages: every page in place" "$TH_LOG" ||
		th_fail "the restore after the fault was not a complete lazy one"
}

case $kind in
lazy-pages) fault_lazy_pages ;;
criu-dump) fault_criu_op dump ;;
criu-parasite) fault_criu_op parasite ;;
criu-restore) fault_criu_op restore ;;
app-dump) fault_app_dump ;;
thawd-launch) fault_thawd launch ;;
thawd-dump) fault_thawd dump ;;
thawd-persist) fault_thawd persist ;;
persist-full) fault_persist full ;;
persist-ro) fault_persist ro ;;
persist-gone) fault_persist gone ;;
device) fault_device ;;
*) th_fail "unknown fault '$kind'" ;;
esac
rel_serves
th_stop_thawd
rel_no_leftovers
th_note "fault $kind: thawd served, nothing frozen, orphaned or lost"
exit 0
