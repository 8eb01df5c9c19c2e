/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * App manifests: one JSON file per app (NAME.json) in the apps folder.
 * The format is documented in docs/manifest.md.
 */

#include <stdbool.h>

struct manifest {
	char *file; /* where it was read from */
	char *id;
	char *exec;    /* absolute path */
	char **argv;   /* argv[0] is exec; NULL-terminated */
	char **env;    /* "NAME=VALUE"; NULL-terminated */
	char *workdir; /* absolute; NULL: a folder of thawd's for the app */
	bool checkpointable;
	bool checkpoint; /* per-app switch, default true */
	bool wait_ready; /* launches wait for its ready call; default:
			  * checkpointable */
	bool lazy_pages; /* restores bring pages in on demand */
	char **devices;	 /* device path patterns the plugin reopens */
	/* Seconds; 0 means thawd's default. */
	unsigned ready_timeout;
	unsigned dump_timeout;
	unsigned restore_timeout;
	unsigned close_timeout;
};

/*
 * Parses the manifest at @path.  Returns 0 and the manifest in *ret, or a
 * negative errno with a message naming the file, the field and what is
 * wrong in *ret_error (caller frees).
 */
int app_manifest_load(const char *path, struct manifest **ret,
		      char **ret_error);

struct manifest *app_manifest_free(struct manifest *m);

/*
 * Loads every *.json of @dir in name order.  Broken manifests (and
 * duplicate ids) are logged and skipped; the others go into *ret, a
 * NULL-terminated array (free with app_manifest_array_free()), their number in
 * *ret_n.  Returns 0, or a negative errno when @dir cannot be read.
 */
int app_manifest_load_dir(const char *dir, struct manifest ***ret,
			  unsigned *ret_n);

void app_manifest_array_free(struct manifest **array);
