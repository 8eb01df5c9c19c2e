# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Opening the tiers: a fast tier that is not a tmpfs is refused, saying
# why, or gets a tmpfs of its budget mounted; a tier owned by another uid
# or writable by others is refused; one readable by others is made 0700.
. "$THAW_SOURCE_DIR/tests/store/store-lib.sh"
st_init

plain=$TH_ROOT/plain-dir
mkdir -p "$plain"
ST_OPTS=(--tmpfs "$plain" --persist "$ST_P")
st_run 1 describe
st_has "store_open error=-124 reason=$plain is not a tmpfs and mounting one is off"

TH_MOUNTS+=("$plain")
ST_OPTS=(--tmpfs "$plain" --persist "$ST_P" --mount --tmpfs-budget 8388608)
st_run 0 publish home 1 1000
[[ $(stat -f -c %T "$plain") == tmpfs ]] || th_fail "no tmpfs mounted on $plain"
grep -E " $plain tmpfs .*size=8192k" /proc/mounts >/dev/null ||
	th_fail "the tmpfs is not sized to the budget: $(grep " $plain " /proc/mounts)"
st_run 0 open home

other=$TH_ROOT/other
mkdir -p "$other"
chown 65534 "$other"
ST_OPTS=(--tmpfs "$ST_T" --persist "$other")
st_run 1 describe
st_has "reason=$other is not owned by uid 0"

chmod 0777 "$ST_P"
ST_OPTS=(--tmpfs "$ST_T" --persist "$ST_P")
st_run 1 describe
st_has "reason=$ST_P is writable by others than its owner"

chmod 0755 "$ST_P"
ST_OPTS=(--tmpfs "$ST_T" --persist "$ST_P")
st_run 0 describe
[[ $(stat -c %a "$ST_P") == 700 ]] || th_fail "mode of $ST_P not tightened"
th_note PASS
