# SPDX-License-Identifier: LGPL-2.1-or-later
#
# FR4: the image of a dump is saved both in tmpfs and on the persistent
# tier (compressed there), as one image (same seq in both).
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
ex_start
ex_launch home
th_expect '[[ $EX_START == cold ]]' "first launch started '$EX_START'"
ex_wait_image home

th_expect 'ex_tmpfs_image home' "no CRIU pages in the tmpfs tier"
th_expect 'ex_persist_image home' "no copy on the persistent tier"
th_expect '[[ -n $(find "$TH_PERSIST_DIR/home" -name "*.zst") ]]' \
	"the persistent copy is not compressed"
t=$(ex_image_seq home tmpfs)
p=$(ex_image_seq home persistent)
th_expect '[[ $t == "$p" ]]' "tiers hold different images: tmpfs $t, persistent $p"
mountpoint -q "$TH_TMPFS_DIR" && [[ $(stat -f -c %T "$TH_TMPFS_DIR") == tmpfs ]] ||
	th_fail "the fast tier is no tmpfs"
