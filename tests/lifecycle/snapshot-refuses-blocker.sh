# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A snapshot of a program holding what CRIU cannot dump (/dev/hwrng, no
# device policy) is refused before anything is frozen, with the census:
# the fd, its path and type.  The program keeps running, unharmed, and no
# image appears.
. "$(dirname "$0")/lc-lib.sh"

th_init
[[ -c /dev/hwrng ]] || th_fail "this machine has no /dev/hwrng"
lc_server_manifest srv '["--hold", "/dev/hwrng"]'
th_start_thawd --close-timeout 1

out=$(thawctl_t launch srv) || th_fail "launch failed: $out"
pid=$(lc_pid srv)
port=$(lc_port srv)
fd=$(for f in /proc/"$pid"/fd/*; do
	[[ $(readlink "$f") == /dev/hwrng ]] && echo "${f##*/}"
done)
[[ -n $fd ]] || th_fail "srv holds no /dev/hwrng"

out=$(thawctl_t snapshot srv 2>&1) && th_fail "snapshot accepted: $out"
th_note "$out"
grep -qE "fd $fd chr /dev/hwrng: blocks" <<<"$out" ||
	th_fail "the refusal does not name fd $fd /dev/hwrng: $out"
a=$(th_call snapshot '{"id": "srv"}') && th_fail "accepted: $a"
[[ $(th_json blockers.0.name <<<"$a") == /dev/hwrng &&
	$(th_json blockers.0.fd <<<"$a") == "$fd" &&
	$(th_json blockers.0.type <<<"$a") == chr ]] ||
	th_fail "the answer's blockers: $a"

[[ $(lc_pid srv) == "$pid" ]] || th_fail "srv is gone or restarted"
grep -q '^State:.*[RS]' /proc/"$pid"/status || th_fail "srv is not running: $(grep State /proc/$pid/status)"
a=$(lc_query "$port") || th_fail "srv stopped serving"
[[ $a == "served=1 "*"mem=ok pair=ok" ]] || th_fail "srv answered: $a"
[[ ! -e $TH_TMPFS_DIR/srv/current ]] || th_fail "an image appeared"
th_log_count 'snapshot refused before freezing' | grep -qx 2 ||
	th_fail "thawd did not log the refusals"
exit 0
