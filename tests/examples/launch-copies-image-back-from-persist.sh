# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FR10: with the tmpfs image deleted, a launch copies the image back from
# the persistent tier and restores it.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
ex_start
ex_launch home
ex_wait_image home
seq=$EX_SEQ
ex_close home

rm -rf "${TH_TMPFS_DIR:?}/home"
ex_launch home
th_expect '[[ $EX_START == restored ]]' "launch without the tmpfs copy: $EX_ANSWER"
th_expect 'ex_tmpfs_image home' "the tmpfs tier has no image again"
th_expect '[[ $(ex_image_seq home tmpfs) == "$seq" ]]' \
	"the tmpfs tier holds another image than the persistent one"
th_expect 'th_wait_log "home: restored: state .* checksum ok" 10' \
	"the app was not restored intact"
