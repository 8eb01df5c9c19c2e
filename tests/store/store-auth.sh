# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Authenticated mode.  Someone who can write a tier but lacks the device
# key changes an image file and fixes the manifest to match: plain xxHash
# cannot tell (it catches accidents, not tampering), HMAC-SHA256 under
# the device key can.  A store with another key rejects every image.
. "$THAW_SOURCE_DIR/tests/store/store-lib.sh"
st_init
plain=(--tmpfs "$ST_T")
keyed=(--tmpfs "$ST_T" --key "device-key-0123456789abcdef")

th_note "plain mode: a forged image passes (the documented limit)"
ST_OPTS=("${plain[@]}")
st_run 0 publish home 1 100000
st_run 0 forge home pages-1.img
st_run 0 open home

th_note "authenticated mode: a forged image is rejected"
rm -rf "$ST_T/home"
ST_OPTS=("${keyed[@]}")
st_run 0 publish home 2 100000
st_run 0 open home
grep -q '"hash":"hmac-sha256"' "$ST_T/home/current/manifest.json" ||
	th_fail "manifest does not say hmac-sha256"
st_run 0 forge home pages-1.img
st_run 4 open home
st_has "reason=manifest.json: not signed with this device's key"

th_note "authenticated mode: a changed byte with the manifest untouched"
st_run 0 publish home 3 100000
st_flip "$ST_T/home/current/core-1.img"
st_run 4 open home
st_has 'reason=file core-1.img: hash mismatch'

th_note "another device key rejects the image"
st_run 0 publish home 4 100000
ST_OPTS=(--tmpfs "$ST_T" --key "another-key")
st_run 4 open home
st_has "not signed with this device's key"

th_note "a plain store rejects a keyed image rather than trust it"
ST_OPTS=("${keyed[@]}")
st_run 0 publish home 5 100000
ST_OPTS=("${plain[@]}")
st_run 4 open home
th_note PASS
