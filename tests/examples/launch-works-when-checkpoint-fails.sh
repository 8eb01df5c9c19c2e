# SPDX-License-Identifier: LGPL-2.1-or-later
#
# QA3: when the dump fails (a tmpfs tier too small for the image) the app
# keeps running, launched cold; when the restore fails (an image whose
# every copy is damaged) the launch still gives a running app, cold.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

EX_TMPFS_SIZE=4m
ex_init
ex_start

ex_launch home
th_expect '[[ $EX_OK == true && $EX_START == cold ]]' "cold launch: $EX_ANSWER"
pid=$EX_PID
th_expect 'th_wait_log "home: checkpoint failed" 30' \
	"the app did not see its dump fail"
th_expect 'ex_alive $pid && ex_running home' "the app died with its dump"
th_expect '! ex_tmpfs_image home' "a failed dump left an image"
ex_close home

# A tier with room: the dump works; then every copy is damaged.
th_stop_thawd
mount -o remount,size=256m "$TH_TMPFS_DIR" || th_fail "cannot grow the tmpfs tier"
ex_start
ex_launch home
ex_wait_image home
ex_close home
for f in $(find "$TH_TMPFS_DIR/home/" "$TH_PERSIST_DIR/home" -name 'pages-*' -type f); do
	printf 'broken' | dd of="$f" bs=1 seek=64 conv=notrunc status=none
done
ex_launch home
th_expect '[[ $EX_OK == true && $EX_START == cold* ]]' \
	"launch of a damaged image: $EX_ANSWER"
th_expect 'ex_alive $EX_PID && ex_running home' "no running app after the failed restore"
th_expect 'th_wait_log "home: cold init" 5' "the app did not start cold"
