/*
 * substream.c - test tool: a subscriber of simd's control socket.
 *
 *   substream SOCKET INTERVAL_MS FRAMES [STALL_S [UNSUB]]
 *
 * Sends subscribe (id 7), sleeps STALL_S seconds without reading (a slow
 * reader), then reads until FRAMES frames have arrived and prints one line per
 * frame: "seq N skipped K t_ms T bytes B".  With UNSUB it then sends
 * unsubscribe and prints "unsubscribed" when its answer arrives, then "after N"
 * (the frames that came after that answer within 3 intervals: 0 expected).
 * Exit 0 when all arrived, 1 otherwise (10 s without a line).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char buf[1 << 22];
static size_t len;

/* The next line, waiting at most ms; NULL on timeout or close. */
static char *
next_line(int fd, int ms)
{
	static char line[1 << 20];
	char *nl;

	while ((nl = memchr(buf, '\n', len)) == NULL) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		if (poll(&p, 1, ms) <= 0 || len == sizeof(buf))
			return NULL;
		if ((n = read(fd, buf + len, sizeof(buf) - len)) <= 0)
			return NULL;
		len += (size_t)n;
	}
	size_t k = (size_t)(nl - buf);
	if (k >= sizeof(line))
		k = sizeof(line) - 1;
	memcpy(line, buf, k);
	line[k] = '\0';
	len -= (size_t)(nl - buf) + 1;
	memmove(buf, nl + 1, len);
	return line;
}

static long long
field(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p != NULL ? atoll(p + strlen(key)) : -1;
}

static int
say(int fd, const char *s)
{
	return write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	char req[256], *line;
	int fd, frames, got = 0, interval;
	double stall;

	if (argc < 4) {
		fprintf(stderr, "usage: substream SOCKET INTERVAL_MS FRAMES [STALL_S [UNSUB]]\n");
		return 2;
	}
	interval = atoi(argv[2]);
	frames = atoi(argv[3]);
	stall = argc > 4 ? atof(argv[4]) : 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		perror("substream: connect");
		return 1;
	}
	snprintf(req, sizeof(req),
	    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"subscribe\",\"params\":{\"interval_ms\":%d}}\n",
	    interval);
	if (say(fd, req) != 0)
		return 1;
	if (stall > 0)
		usleep((useconds_t)(stall * 1e6));
	while (got < frames && (line = next_line(fd, 10000)) != NULL) {
		if (strstr(line, "\"error\"") != NULL) {
			printf("error %s\n", line);
			return 1;
		}
		printf("seq %lld skipped %lld t_ms %lld bytes %zu\n", field(line, "\"seq\":"),
		    field(line, "\"skipped\":"), field(line, "\"t_ms\":"), strlen(line));
		got++;
	}
	if (got < frames)
		return 1;
	if (argc > 5) {
		int after = 0;
		if (say(fd, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"unsubscribe\"}\n") != 0)
			return 1;
		while ((line = next_line(fd, 10000)) != NULL && strstr(line, "\"id\":8") == NULL)
			;
		if (line == NULL)
			return 1;
		printf("unsubscribed %s\n", strstr(line, "\"unsubscribed\":1") ? "1" : line);
		while (next_line(fd, 3 * interval) != NULL)
			after++;
		printf("after %d\n", after);
	}
	fflush(stdout);
	close(fd);
	return 0;
}
