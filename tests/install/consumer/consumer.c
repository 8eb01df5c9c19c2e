// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A program built against an installed thaw, as an app developer builds
 * one: only the installed headers and libraries.  Checks that it runs
 * against the libraries it was built with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <thaw/hal.h>
#include <thaw/hal_criu.h>
#include <thaw/thaw.h>

#ifndef EXPECT_VERSION
#error "build with -DEXPECT_VERSION=\"MAJOR.MINOR.PATCH\""
#endif

static int failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

int main(void)
{
	int r;

	unsetenv("THAW_SOCKET");
	unsetenv("THAW_APP_ID");

	check(strcmp(thaw_version(), EXPECT_VERSION) == 0, "thaw_version");
	/* libhal-criu counts its versions from its ABI major, 1. */
	check(strncmp(hal_version(), "1.", 2) == 0, "hal_version");
	check(hal_count() == 0, "hal_count");

	r = thaw_checkpoint();
	check(r == -ENOTCONN, "thaw_checkpoint outside thawd is -ENOTCONN");
	check(thaw_ready() == -ENOTCONN, "thaw_ready outside thawd");
	check(thaw_last_error() != NULL, "thaw_last_error");

	check(HAL_CRIU_PreCheckpointNotify() == HAL_CRIU_OK, "pre-checkpoint");
	check(HAL_CRIU_PostDumpNotify() == HAL_CRIU_OK, "post-dump");

	return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
