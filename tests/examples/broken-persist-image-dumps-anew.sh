# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FR12: when the persistent image is broken (and there is no tmpfs copy,
# as after a reboot), the next launch starts cold and dumps anew; later
# launches restore normally.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
ex_start
ex_launch home
ex_wait_image home
ex_close home

rm -rf "${TH_TMPFS_DIR:?}/home"
for f in $(find "$TH_PERSIST_DIR/home" -name 'pages-*' -type f); do
	printf 'broken' | dd of="$f" bs=1 seek=64 conv=notrunc status=none
done
ex_launch home
th_expect '[[ $EX_OK == true && $EX_START == cold* ]]' \
	"launch with a broken image: $EX_ANSWER"
th_expect 'ex_alive $EX_PID' "the app does not run"
ex_wait_image home 2
ex_close home

ex_launch home
th_expect '[[ $EX_START == restored ]]' "launch after the new dump: $EX_ANSWER"
th_expect 'th_wait_log "home: restored: state .* checksum ok" 10' \
	"the app was not restored intact"
