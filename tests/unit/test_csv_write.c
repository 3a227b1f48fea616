/*
** test_csv_write.c -- csv_write_field (csv.c): every field it writes reads
** back unchanged through csv_read, the quoting rules RFC 4180 readers
** follow (commas, quotes, CR and LF line breaks, space at either end), and
** plain fields stay unquoted.
*/
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "t.h"

static const char *const fields[] = {
	"plain", "with, comma", "say \"hi\"", "two\nlines", "cr\rhere", "crlf\r\nend",
	" lead", "trail ", "", "\"", ",", "a\tb", "Ünïcödé",
};
#define NF ((int)(sizeof fields / sizeof *fields))

/* Write every field as one row under a header and read the file back. */
static void round_trip(void)
{
	char path[] = "/tmp/test_csv_write.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	t_check(f != NULL, "csv_write: temporary file", "mkstemp failed");
	if (!f)
		return;
	for (int i = 0; i < NF; i++)
		fprintf(f, "%sc%d", i ? "," : "", i);
	fputc('\n', f);
	for (int i = 0; i < NF; i++) {
		if (i)
			fputc(',', f);
		csv_write_field(f, fields[i]);
	}
	fputc('\n', f);
	fclose(f);
	Csv c = {0};
	RtErr e = {0};
	int rc = csv_read(path, &c, &e);
	t_check(rc == 0 && c.rows == 1 && c.cols == NF, "csv_write: the row reads back as one row",
	        "rc %d rows %lld cols %d: %s", rc, (long long)c.rows, c.cols, e.msg);
	for (int i = 0; rc == 0 && i < NF && c.rows == 1 && c.cols == NF; i++) {
		char name[64];
		snprintf(name, sizeof name, "csv_write: field %d reads back unchanged", i);
		t_check(!strcmp(csv_cell(&c, 0, i), fields[i]), name, "got \"%s\"", csv_cell(&c, 0, i));
	}
	csv_free(&c);
	unlink(path);
}

/* What is quoted and what is not. */
static void quoting(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	csv_write_field(f, "plain");
	fputc('|', f);
	csv_write_field(f, "a,b");
	fputc('|', f);
	csv_write_field(f, "q\"q");
	fputc('|', f);
	csv_write_field(f, " x");
	fclose(f);
	t_check(!strcmp(buf, "plain|\"a,b\"|\"q\"\"q\"|\" x\""), "csv_write: quotes only when needed",
	        "got %s", buf);
	free(buf);
}

int main(void)
{
	round_trip();
	quoting();
	return t_done();
}
