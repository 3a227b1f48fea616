/*
** t_dir.h -- a scratch directory for tests that write files: t_dir_open
** makes /tmp/TAG-XXXXXX, P(name) is a path inside it (four rotating
** buffers, so a call may use several), t_dir_cleanup removes it.
*/
#ifndef LUNAC_T_DIR_H
#define LUNAC_T_DIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];

/* A path in the test's directory. */
static const char *P(const char *name)
{
	static char buf[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

/* Make the test's directory /tmp/TAG-XXXXXX; 0 on success. */
static int t_dir_open(const char *tag)
{
	snprintf(dir, sizeof dir, "/tmp/%s-XXXXXX", tag);
	return mkdtemp(dir) ? 0 : -1;
}

/* Remove the test directory (its plain files, then itself). */
static void t_dir_cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			unlink(P(de->d_name));
	if (d)
		closedir(d);
	rmdir(dir);
}

#endif
