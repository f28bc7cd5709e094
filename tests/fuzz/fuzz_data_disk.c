/*
 * libFuzzer target for the DATA-to-disk path: an arbitrary stream through
 * smtp_data into a queue_body (an unnamed file in a temp spool's tmp/),
 * split at fuzzer-chosen points, then queue_enqueue_body and both readers.
 * Checks: the stored message is exactly the decoder's output; whatever the
 * writer stores, queue_read and queue_read_envelope accept (same size);
 * a flagged message is never stored; nothing is ever left in tmp/.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "smtp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

static int spoolfd = -1, qfd = -1;
static char spooldir[] = "/tmp/fuzz-data-disk-XXXXXX";

/* Both sinks: the body on disk and a copy in memory to compare. */
struct sinks {
	struct queue_body *b;
	char *mem;
	size_t len;
};

static int
out_fn(void *arg, const char *buf, size_t len)
{
	struct sinks *s = arg;

	memcpy(s->mem + s->len, buf, len);
	s->len += len;
	return queue_body_add(s->b, buf, len) == 0 ? 0 : -1;
}

/* Every stored file is removed at once, so the spool is empty here. */
static void
spool_remove(void)
{
	(void)unlinkat(spoolfd, "tmp", AT_REMOVEDIR);
	(void)unlinkat(spoolfd, "queue", AT_REMOVEDIR);
	(void)rmdir(spooldir);
}

static void
spool_once(void)
{
	if (spoolfd != -1)
		return;
	CHECK(mkdtemp(spooldir) != NULL);
	CHECK(atexit(spool_remove) == 0);
	spoolfd = open(spooldir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(spoolfd >= 0);
	CHECK(mkdirat(spoolfd, "tmp", 0700) == 0);
	CHECK(mkdirat(spoolfd, "queue", 0700) == 0);
	qfd = openat(spoolfd, "queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(qfd >= 0);
}

static int
tmp_empty(void)
{
	struct dirent *de;
	int fd, n = 0;
	DIR *d;

	fd = openat(spoolfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0 && (d = fdopendir(fd)) != NULL);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..");
	(void)closedir(d);
	return n == 0;
}

static void
envelope_of(struct queue_file *qf, struct queue_rcpt *r)
{
	memset(qf, 0, sizeof(*qf));
	memset(r, 0, sizeof(*r));
	queue_id_new(qf->id);
	(void)strlcpy(qf->client, "192.0.2.1", sizeof(qf->client));
	(void)strlcpy(qf->helo, "fuzz.test", sizeof(qf->helo));
	(void)strlcpy(qf->sender, "<a@example.net>", sizeof(qf->sender));
	(void)strlcpy(r->path, "<b@example.org>", sizeof(r->path));
	qf->rcpt = r;
	qf->nrcpt = 1;
}

/* Read back and compare; then remove the file. */
static void
check_stored(const struct queue_file *qf, const struct sinks *s)
{
	struct queue_file *rd = NULL;

	CHECK(queue_read(qfd, qf->id, &rd) == 0);
	CHECK(rd->size == s->len);
	CHECK(s->len == 0 || memcmp(rd->msg, s->mem, s->len) == 0);
	queue_free(rd);
	CHECK(queue_read_envelope(qfd, qf->id, &rd) == 0);
	CHECK(rd->size == s->len && rd->msg == NULL);
	queue_free(rd);
	CHECK(unlinkat(qfd, qf->id, 0) == 0);
}

/*
 * Input: byte 0 picks max_line (0: RFC 1000, else 1000 + b*16) and byte 1
 * the split size (1..256); the rest is the stream after the 354.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_file qf;
	struct queue_rcpt r;
	struct smtp_data d;
	struct sinks s = { NULL, NULL, 0 };
	size_t off = 0, len, used, step;
	int rc = 0;

	if (size < 2)
		return 0;
	spool_once();
	envelope_of(&qf, &r);
	CHECK(queue_body_open(spoolfd, qf.id, &s.b) == 0);
	CHECK((s.mem = malloc(size + 1)) != NULL);
	smtp_data_init(&d, 0, 50, out_fn, &s);
	d.max_line = data[0] == 0 ? SMTP_DATA_LINE_MAX : 1000 + data[0] * 16u;
	step = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	while (off < size && rc == 0) {
		len = size - off < step ? size - off : step;
		rc = smtp_data_feed(&d, (const char *)data + off, len, &used);
		CHECK(rc >= 0 && used <= len);
		off += used;
	}
	CHECK(tmp_empty());
	if (rc == 1 && smtp_data_reply(&d) == NULL) {
		CHECK(queue_enqueue_body(spoolfd, &qf, s.b) == 0);
		CHECK(qf.size == s.len);
		CHECK(tmp_empty());
		check_stored(&qf, &s);
	}
	queue_body_free(s.b);
	CHECK(tmp_empty());
	free(s.mem);
	return 0;
}
