# SPDX-License-Identifier: LGPL-2.1-or-later
#
# An app whose manifest asks for lazy pages is restored with its memory
# served on demand by a `criu lazy-pages` server: the launch says so, the
# app finds its whole state intact (its check touches every page, so each
# one comes from the server), and the server ends on its own once every
# page is in place, leaving no process and no work folder behind.
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

ex_init
python3 - "$TH_APPS_DIR/home.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["lazyPages"] = True
json.dump(m, open(sys.argv[1], "w"))
PY
ex_start
ex_launch home
th_expect '[[ $EX_START == cold ]]' "first launch started '$EX_START'"
ex_wait_image home
ex_close home

ex_launch home
th_expect '[[ $EX_OK == true && $EX_START == restored ]]' \
	"second launch: $EX_ANSWER"
th_expect '[[ $(th_json lazyPages <<<"$EX_ANSWER") == true ]]' \
	"the launch does not say it restored lazily: $EX_ANSWER"
th_expect 'th_wait_log "home\[[0-9]+\]: restored lazily from tmpfs" 10' \
	"thawd did not log a lazy restore"
th_expect 'th_wait_log "home: restored: state .* checksum ok" 10' \
	"home did not find its state intact"
th_expect 'th_wait_log "home\[[0-9]+\]: lazy pages: every page in place" 20' \
	"the lazy-pages server did not end after serving every page"
th_expect '! compgen -G "$TH_RUN_DIR/work-home-*" >/dev/null' \
	"the lazy restore left its work folder: $(ls -d "$TH_RUN_DIR"/work-home-* 2>/dev/null)"
th_expect '! pgrep -f -- "lazy-pages .*--work-dir $TH_RUN_DIR/" >/dev/null' \
	"a lazy-pages server is left"
th_expect 'ex_running home' "home is not in the running list"
ex_close home
