# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The store's repairs seen through thawd, with a real app and real CRIU:
# the persistent tier is an ext4 on a loop device.
#   - tmpfs copy deleted: the launch restores from the persistent copy;
#   - persistent copy broken after a boot (tmpfs empty): the launch names
#     the damaged file, starts cold, dumps anew, and the next launch
#     restores;
#   - both copies broken: cold, dumped anew;
#   - image invalidated: cold, dumped anew, then restored.
. "$THAW_SOURCE_DIR/tests/daemon/common.sh"

th_init

# Whether the log has at least N lines matching PATTERN.
log_at_least() {
	(($(th_log_count "$1") >= $2))
}
th_persist_loop 64
td_app_manifest app '["--mib", "8", "--seed", "11"]'

start() {
	th_start_thawd --persist-dir "$TH_PERSIST_DIR"
}

# Waits for the n-th copy to the persistent tier in the log (which all
# thawds of the test share).
wait_persisted() {
	th_wait_until 20 log_at_least 'image copied to the persistent tier' "$1" ||
		th_fail "no copy to the persistent tier (#$1)"
}

launch_expect() {
	local want=$1
	td_launch app
	[[ $(td_field start) == "$want" ]] ||
		th_fail "launch started '$(td_field start)', wanted '$want': $TD_ANSWER"
}

reboot() {
	th_stop_thawd
	umount "$TH_TMPFS_DIR" || th_fail "cannot unmount the tmpfs tier"
	th_mount_tmpfs "$TH_TMPFS_DIR" 256m
	start
}

start
th_note "cold launch, dump, copy to the persistent tier"
launch_expect cold
wait_persisted 1
td_close app

th_note "tmpfs copy deleted: restored from the persistent copy"
rm -rf "$TH_TMPFS_DIR/app"
launch_expect restored
th_wait_log 'restored from persistent tier.*tmpfs copy restored from the persistent copy' 10 ||
	th_fail "no log of the repair from the persistent tier"
th_wait_log 'app: memory intact after restore \(8 MiB, seed 11\)' 10 ||
	th_fail "the restored app did not find its memory intact"
td_close app
launch_expect restored
td_close app

th_note "persistent copy broken, after a boot: cold, dumped anew"
reboot
python3 - "$TH_PERSIST_DIR"/app/current/pages-*.img.zst <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(100)
    b = f.read(1)
    f.seek(100)
    f.write(bytes([b[0] ^ 0xff]))
PY
launch_expect cold-after-failed-restore
grep -q 'image refused: persistent copy: file pages-[0-9]*.img' <<<"$(td_field reason)" ||
	th_fail "the launch answer does not name the damaged file: $TD_ANSWER"
th_wait_log 'restore failed: image refused' 5 || th_fail "no log of the rejection"
wait_persisted 2
td_close app
reboot
launch_expect restored
th_wait_log 'app: memory intact after restore' 10 ||
	th_fail "the app restored from the new image lost its memory"
td_close app

th_note "both copies broken: cold, dumped anew"
python3 - "$TH_TMPFS_DIR"/app/current/pages-*.img "$TH_PERSIST_DIR"/app/current/pages-*.img.zst <<'PY'
import sys
for p in sys.argv[1:]:
    with open(p, "r+b") as f:
        f.seek(200)
        b = f.read(1)
        f.seek(200)
        f.write(bytes([b[0] ^ 0xff]))
PY
launch_expect cold-after-failed-restore
grep -q 'image refused: file pages-[0-9]*.img' <<<"$(td_field reason)" ||
	th_fail "the launch answer does not name the damaged file: $TD_ANSWER"
wait_persisted 3
td_close app
launch_expect restored
td_close app

th_note "invalidated: cold, dumped anew, then restored"
th_call invalidate '{"id": "app"}' >/dev/null || th_fail "invalidate failed"
td_launch app
[[ $(td_field start) == cold* ]] || th_fail "launch after invalidate not cold: $TD_ANSWER"
wait_persisted 4
td_close app
launch_expect restored
td_close app

th_call images >"$TH_ROOT/images.json" || th_fail "images failed"
th_note "images: $(cat "$TH_ROOT/images.json")"
th_note PASS
