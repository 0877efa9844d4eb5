/*
 * rawsock.c - test tool: speaks raw bytes to a Unix socket.
 *
 *   rawsock SOCKET LINES [HOLD]
 *
 * Sends standard input as it is, then reads until LINES answer lines have
 * arrived (printing each), the peer closes, or 5 s pass.  With HOLD > 0 it
 * keeps the connection open HOLD more seconds before closing.  Exit 0 when
 * LINES lines arrived, 1 otherwise; prints "closed" when the peer closed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	char buf[65536];
	int fd, want, got = 0, hold;
	ssize_t n;

	if (argc < 3) {
		fprintf(stderr, "usage: rawsock SOCKET LINES [HOLD]\n");
		return 2;
	}
	want = atoi(argv[2]);
	hold = argc > 3 ? atoi(argv[3]) : 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		perror("rawsock: connect");
		return 1;
	}
	while ((n = read(0, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
			if (w <= 0) {
				printf("closed\n");
				return got >= want ? 0 : 1;
			}
			off += w;
		}
	}
	while (got < want) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 5000) <= 0)
			break;
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0) {
			printf("closed\n");
			break;
		}
		buf[n] = '\0';
		fputs(buf, stdout);
		for (ssize_t i = 0; i < n; i++)
			got += buf[i] == '\n';
	}
	fflush(stdout);
	if (hold > 0)
		sleep((unsigned)hold);
	close(fd);
	return got >= want ? 0 : 1;
}
