# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A device the image needs.  The app holds a character device node made
# with mknod in the test's folder.  Without a policy CRIU refuses the
# dump (the app keeps running, cold).  With the device in the app's
# policy the CRIU plugin dumps it by reference and the restore reopens it
# at the same fd number; once the node is renamed the restore fails and
# the launch ends cold, the image invalidated.
. "$(dirname "$0")/common.sh"

th_init
[[ -f $TH_BUILD/plugin/criu-plugins/thaw-devfd.so ]] ||
	th_fail "no CRIU plugin at $TH_BUILD/plugin/criu-plugins"
# A tmpfs of its own: the test root may be mounted nodev.
th_mount_tmpfs "$TH_ROOT/dev" 1m
chmod 0755 "$TH_ROOT/dev"
node=$TH_ROOT/dev/latency
# /dev/cpu_dma_latency: a misc character device CRIU cannot dump itself.
read -r maj min < <(stat -c '%t %T' /dev/cpu_dma_latency)
mknod "$node" c $((0x$maj)) $((0x$min)) || th_fail "mknod failed"
td_app_manifest bare "[\"--mib\", \"4\", \"--open\", \"$node\"]"
td_app_manifest dev "[\"--mib\", \"4\", \"--open\", \"$node\"]" \
	"\"policy\": {\"devices\": [\"$TH_ROOT/dev/*\"]}"
th_start_thawd

td_launch bare
[[ $(td_field start) == cold && -n $(td_field checkpointError) ]] ||
	th_fail "the device did not make the dump fail: $TD_ANSWER"
kill -0 "$(td_field pid)" || th_fail "the app died with its dump"
td_close bare

td_launch dev
[[ $(td_field start) == cold ]] || th_fail "first launch not cold"
[[ -z $(td_field checkpointError) ]] ||
	th_fail "the plugin did not dump the device: $TD_ANSWER"
th_wait_log 'dev\[[0-9]+\]: dumped in' 10 || th_fail "no dump"
td_close dev

td_launch dev
[[ $(td_field start) == restored ]] || th_fail "not restored: $TD_ANSWER"
pid=$(td_field pid)
[[ $(readlink /proc/"$pid"/fd/3) == "$node" ]] ||
	th_fail "fd 3 of the restored app is $(readlink /proc/"$pid"/fd/3), not $node"
td_close dev

mv "$node" "$node.moved"
td_launch dev
[[ $(td_field start) == cold-after-failed-restore ]] ||
	th_fail "restore without the device did not fall back: $TD_ANSWER"
[[ -n $(td_field reason) ]] || th_fail "no reason given"
kill -0 "$(td_field pid)" || th_fail "the cold app is not running"
th_wait_log 'dev\[0\]: restore failed' 5 || th_fail "restore failure not logged"
exit 0
