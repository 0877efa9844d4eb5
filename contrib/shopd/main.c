/* main.c - shopd: flags, the database, the HTTP server, signals. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/http.h>

#include "sim/log.h"

#include "db.h"
#include "limiter.h"
#include "shopd.h"

#define RATE_MAX 1000000 /* per minute */

struct opts {
	const char *listen, *db, *secret_file;
	unsigned long rate_search, rate_products;
	unsigned long max_body, timeout_ms;
	enum log_level level;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: shopd --listen ADDR:PORT --db PATH_OR_URL --jwt-secret-file FILE [options]\n"
	    "  -L, --listen ADDR:PORT     address to serve on (127.0.0.1:8080, [::1]:0, ...)\n"
	    "  -D, --db PATH_OR_URL       the shop database: a SQLite file or postgresql://...\n"
	    "  -S, --jwt-secret-file FILE the HS256 secret (trailing newline ignored)\n"
	    "      --rate-search N[/min]  searches per minute per client address (30; 0 = off)\n"
	    "      --rate-products N[/min] product reads per minute per address (60; 0 = off)\n"
	    "      --max-body BYTES       largest request body (65536)\n"
	    "      --statement-timeout MS bound on every database statement (5000)\n"
	    "  -l, --log-level L          error, warn, info or debug (info)\n"
	    "  -V, --version              print the version and exit\n"
	    "  -h, --help                 this help\n");
}

static void
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "shopd: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	usage(stderr);
	exit(2);
}

static int
parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "30" or "30/min". */
static int
parse_rate(const char *s, unsigned long *out)
{
	char buf[32];
	size_t n = strcspn(s, "/");

	if (n >= sizeof(buf) || (s[n] != '\0' && strcmp(s + n, "/min") != 0))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return parse_ulong(buf, 0, RATE_MAX, out);
}

static void
parse_flags(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'L' },
		{ "db", required_argument, NULL, 'D' },
		{ "jwt-secret-file", required_argument, NULL, 'S' },
		{ "rate-search", required_argument, NULL, 'r' },
		{ "rate-products", required_argument, NULL, 'p' },
		{ "max-body", required_argument, NULL, 'b' },
		{ "statement-timeout", required_argument, NULL, 't' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "L:D:S:l:Vh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'L': o->listen = optarg; break;
		case 'D': o->db = optarg; break;
		case 'S': o->secret_file = optarg; break;
		case 'r':
			if (parse_rate(optarg, &o->rate_search) == -1)
				usage_error("--rate-search: not a rate: %s", optarg);
			break;
		case 'p':
			if (parse_rate(optarg, &o->rate_products) == -1)
				usage_error("--rate-products: not a rate: %s", optarg);
			break;
		case 'b':
			if (parse_ulong(optarg, 256, 64UL << 20, &o->max_body) == -1)
				usage_error("--max-body: 256 to 67108864 bytes, not %s", optarg);
			break;
		case 't':
			if (parse_ulong(optarg, 1, 3600000, &o->timeout_ms) == -1)
				usage_error("--statement-timeout: 1 to 3600000 ms, not %s", optarg);
			break;
		case 'l':
			if (log_level_parse(optarg, &o->level) == -1)
				usage_error("--log-level: not a level: %s", optarg);
			break;
		case 'V': printf("shopd %s\n", SIMD_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument: %s", argv[optind]);
	if (o->listen == NULL || o->db == NULL || o->secret_file == NULL)
		usage_error("%s", "--listen, --db and --jwt-secret-file are required");
}

/* "127.0.0.1:8080", "localhost:0" or "[::1]:8080" into host and port. */
static int
split_listen(const char *s, char *host, size_t hostlen, unsigned long *port)
{
	const char *colon = strrchr(s, ':');
	size_t n;

	if (colon == NULL || parse_ulong(colon + 1, 0, 65535, port) == -1)
		return -1;
	n = (size_t)(colon - s);
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return -1;
		s++;
		n -= 2;
	} else if (memchr(s, ':', n) != NULL) {
		return -1; /* an IPv6 address needs its brackets */
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

static int
bound_port(struct evhttp_bound_socket *h)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = (int)evhttp_bound_socket_get_fd(h);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int
http_start(struct shopd *sd, const struct opts *o, char *err, size_t errlen)
{
	struct evhttp_bound_socket *h;
	unsigned long port;
	char host[256];

	if (split_listen(o->listen, host, sizeof(host), &port) == -1) {
		snprintf(err, errlen, "--listen: want ADDR:PORT, not %s", o->listen);
		return -1;
	}
	if ((sd->http = evhttp_new(sd->base)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	evhttp_set_max_body_size(sd->http, (ev_ssize_t)o->max_body);
	evhttp_set_max_headers_size(sd->http, SHOPD_MAX_HEADERS);
	evhttp_set_timeout(sd->http, SHOPD_IO_TIMEOUT);
	/* Read a refused body to its end, so the client sees the 413 instead of a reset. */
	evhttp_set_flags(sd->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_allowed_methods(sd->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
		EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(sd->http, httpd_request, sd);
	if ((h = evhttp_bind_socket_with_handle(sd->http, host, (ev_uint16_t)port)) == NULL) {
		snprintf(err, errlen, "cannot listen on %s", o->listen);
		return -1;
	}
	log_info("shopd %s listening on %s%s%s:%d (database: %s%s%s)", SIMD_VERSION,
	    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", bound_port(h),
	    db_driver(sd->db), strcmp(db_driver(sd->db), "sqlite") == 0 ? " " : "",
	    strcmp(db_driver(sd->db), "sqlite") == 0 ? o->db : "");
	return 0;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct shopd *sd = arg;

	log_info("%s: stopping after %llu requests", sig == SIGTERM ? "SIGTERM" : "SIGINT",
	    (unsigned long long)sd->requests);
	event_base_loopexit(sd->base, NULL);
}

static int
shopd_open(struct shopd *sd, const struct opts *o, char *err, size_t errlen)
{
	if (jwt_key_load(&sd->key, o->secret_file, err, errlen) == -1)
		return -1;
	if (sd->key.len < 32)
		log_warnx("%s: the secret is %zu bytes; RFC 7518 asks for at least 32 for HS256",
		    o->secret_file, sd->key.len);
	if ((sd->db = db_open(o->db, (unsigned)o->timeout_ms, err, errlen)) == NULL)
		return -1;
	if ((sd->shop = shop_new(sd->db)) == NULL ||
	    (sd->lim_search = limiter_new((unsigned)o->rate_search, SHOPD_MAX_ADDRS)) == NULL ||
	    (sd->lim_products = limiter_new((unsigned)o->rate_products, SHOPD_MAX_ADDRS)) == NULL ||
	    (sd->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return http_start(sd, o, err, errlen);
}

static void
shopd_close(struct shopd *sd)
{
	if (sd->http != NULL)
		evhttp_free(sd->http);
	if (sd->base != NULL)
		event_base_free(sd->base);
	limiter_free(sd->lim_products);
	limiter_free(sd->lim_search);
	shop_free(sd->shop);
	db_free(sd->db);
	jwt_key_clear(&sd->key);
}

int
main(int argc, char **argv)
{
	struct opts o = { NULL, NULL, NULL, 30, 60, SHOPD_MAX_BODY, 5000, LOG_LEVEL_INFO };
	struct event *sig[2] = { NULL, NULL };
	struct shopd sd;
	struct sigaction sa;
	char err[512];
	int rc = 0;

	parse_flags(argc, argv, &o);
	log_init("shopd", 0, o.level);
	memset(&sd, 0, sizeof(sd));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (shopd_open(&sd, &o, err, sizeof(err)) == -1) {
		fprintf(stderr, "shopd: %s\n", err);
		rc = 1;
	} else if ((sig[0] = evsignal_new(sd.base, SIGTERM, signal_cb, &sd)) == NULL ||
	    (sig[1] = evsignal_new(sd.base, SIGINT, signal_cb, &sd)) == NULL ||
	    evsignal_add(sig[0], NULL) != 0 || evsignal_add(sig[1], NULL) != 0) {
		fprintf(stderr, "shopd: cannot install signal handlers\n");
		rc = 1;
	} else {
		event_base_dispatch(sd.base);
	}
	if (sig[0] != NULL)
		event_free(sig[0]);
	if (sig[1] != NULL)
		event_free(sig[1]);
	shopd_close(&sd);
	return rc;
}
