/*
 * The fake SMTP server of the smtpc unit tests (test_smtpc.c,
 * test_smtpc_hostile.c): fake_start() forks a child that accepts one
 * connection on a random loopback port and runs a scripted dialogue
 * (exit status = the first step that went wrong); fake_done() reaps it.
 * Also short timeouts and a queue file to send.
 */
#ifndef TEST_SMTPC_FAKE_H
#define TEST_SMTPC_FAKE_H

/* Port 2024 belongs to other software on these machines: never used. */
#define PORT_TAKEN 2024

static inline void
srv_send(int fd, const char *s)
{
	size_t n = strlen(s), off = 0;
	ssize_t w;

	while (off < n) {
		if ((w = send(fd, s + off, n - off, MSG_NOSIGNAL)) <= 0)
			_exit(90);
		off += (size_t)w;
	}
}

/* One line with its CRLF into buf (cap len); exits on EOF. */
static inline void
srv_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	char ch;

	while (n + 1 < len) {
		if (read(fd, &ch, 1) != 1)
			_exit(91);
		buf[n++] = ch;
		if (ch == '\n')
			break;
	}
	buf[n] = '\0';
}

static inline void
srv_expect(int fd, const char *prefix, int code)
{
	char line[4096];

	srv_line(fd, line, sizeof(line));
	if (strncasecmp(line, prefix, strlen(prefix)) != 0)
		_exit(code);
}

/* Everything up to and including CRLF.CRLF. */
static inline size_t
srv_data(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		if (read(fd, buf + n, 1) != 1)
			_exit(92);
		n++;
		if (n >= 5 && memcmp(buf + n - 5, "\r\n.\r\n", 5) == 0)
			break;
	}
	buf[n] = '\0';
	return n;
}

struct fake {
	pid_t pid;
	struct route_hop hop;
};

static inline void
fake_start(struct fake *f, void (*fn)(int))
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&f->hop.addr;
	socklen_t sl = sizeof(*sin);
	int lfd, fd;

	memset(f, 0, sizeof(*f));
	(void)strlcpy(f->hop.host, "fake.test", sizeof(f->hop.host));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	do {
		lfd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(lfd >= 0);
		sin->sin_port = 0;
		assert_int_equal(
		    bind(lfd, (struct sockaddr *)sin, sizeof(*sin)), 0);
		assert_int_equal(
		    getsockname(lfd, (struct sockaddr *)sin, &sl), 0);
		if (ntohs(sin->sin_port) == PORT_TAKEN)
			(void)close(lfd);
	} while (ntohs(sin->sin_port) == PORT_TAKEN);
	f->hop.addrlen = sizeof(*sin);
	assert_int_equal(listen(lfd, 1), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		(void)alarm(30);
		if ((fd = accept(lfd, NULL, NULL)) < 0)
			_exit(93);
		(void)close(lfd);
		fn(fd);
		_exit(94);
	}
	(void)close(lfd);
}

static inline void
fake_done(struct fake *f)
{
	int status;

	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("fake server: status 0x%x", status);
}

static inline struct smtpc_timeouts *
fast(void)
{
	static struct smtpc_timeouts t;

	smtpc_timeouts_default(&t);
	t.connect = t.greeting = t.helo = t.mail = t.rcpt = 1;
	t.data_init = t.data_block = t.data_term = 1;
	return &t;
}

static inline struct queue_file *
qf_new(const char *sender, const char *msg, size_t nrcpt)
{
	struct queue_file *qf = calloc(1, sizeof(*qf));
	size_t i;

	assert_non_null(qf);
	(void)strlcpy(qf->sender, sender, sizeof(qf->sender));
	qf->rcpt = calloc(nrcpt, sizeof(*qf->rcpt));
	assert_non_null(qf->rcpt);
	qf->nrcpt = nrcpt;
	for (i = 0; i < nrcpt; i++)
		(void)snprintf(qf->rcpt[i].path, sizeof(qf->rcpt[i].path),
		    "<r%zu@b.test>", i);
	qf->msg = strdup(msg);
	assert_non_null(qf->msg);
	qf->size = strlen(msg);
	return qf;
}

static inline void
qf_free(struct queue_file *qf)
{
	free(qf->rcpt);
	free(qf->msg);
	free(qf);
}

#endif
