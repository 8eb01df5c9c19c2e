# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A real CRIU dump and restore through the store, the restore coming from
# the persistent copy after the tmpfs copy was deleted (store-criu-test.c
# says how the restored process proves itself).
. "$THAW_SOURCE_DIR/tests/store/store-lib.sh"
st_init
[[ -n $TH_CRIU && -x $TH_CRIU ]] || th_fail "no CRIU binary (THAW_CRIU='$TH_CRIU')"
mkdir -m 0700 "$TH_ROOT/work"
"$TH_BUILD/tests/store/store-criu-test" "$TH_CRIU" "$ST_T" "$ST_P" \
	"$TH_ROOT/work" || {
	for log in "$TH_ROOT"/work/*.log; do
		[[ -f $log ]] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
	done
	th_fail "store-criu-test failed"
}
th_note PASS
