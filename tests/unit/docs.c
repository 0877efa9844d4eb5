/*
 * docs.c - the documentation keeps up with the code.
 *
 * Every key of config_keys[] must appear in etc/simd.conf (as "# KEY = DEFAULT", with
 * its environment variable in the comment above) and in simd.conf(5) (as ".It Cm KEY",
 * with its default, range, variable and whether SIGHUP re-reads it); simd(8) must list
 * every variable; every method of cmd_table[] must be a verb of simctl(1) and appear as
 * "simctl METHOD" in README.md.  Files are read relative to the current directory: the
 * test runs from the repository root.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/cmd.h"
#include "sim/config.h"

#include "check.h"

#define CONF_EXAMPLE "etc/simd.conf"
#define MAN_CONF "man/simd.conf.5"
#define MAN_SIMD "man/simd.8"
#define MAN_SIMCTL "man/simctl.1"
#define README "README.md"
#define NAME_MAX_LEN 64

/* The whole file, NUL-terminated; NULL (and a message) when it cannot be read. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		fprintf(
		    stderr, "docs: %s: %s (run from the repository root)\n", path, strerror(errno));
		return NULL;
	}
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "docs: out of memory reading %s\n", path);
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	buf[len] = '\0';
	if (ferror(f)) {
		fprintf(stderr, "docs: %s: read error\n", path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Length of the line at p, without its newline. */
static size_t
line_len(const char *p)
{
	const char *e = strchr(p, '\n');

	return e ? (size_t)(e - p) : strlen(p);
}

static const char *
next_line(const char *p)
{
	const char *e = strchr(p, '\n');

	return e ? e + 1 : p + strlen(p);
}

/* Whether the line at p starts with prefix followed by a blank or the end of the line. */
static int
line_starts_word(const char *p, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(p, prefix, n) == 0 &&
	    (p[n] == ' ' || p[n] == '\t' || p[n] == '\n' || p[n] == '\0');
}

/*
 * "KEY = ..." or "# KEY = ..." (KEY in [a-z0-9_]): copies KEY into name and returns
 * the offset of the text after '=', else 0.
 */
static size_t
conf_line_key(const char *p, char *name, size_t namelen)
{
	const char *s = p;
	size_t n = 0;

	if (*s == '#')
		s++;
	while (*s == ' ' || *s == '\t')
		s++;
	while (islower((unsigned char)s[n]) || isdigit((unsigned char)s[n]) || s[n] == '_')
		n++;
	if (n == 0 || n >= namelen)
		return 0;
	memcpy(name, s, n);
	name[n] = '\0';
	s += n;
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '=' ? (size_t)(s + 1 - p) : 0;
}

/* ---- etc/simd.conf ---- */

/* Whether the n bytes at s hold word. */
static int
span_has(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);

	for (size_t i = 0; i + w <= n; i++)
		if (memcmp(s + i, word, w) == 0)
			return 1;
	return 0;
}

/* Whether the comment lines right above line (up to a blank line) mention word. */
static int
comment_above_mentions(const char *text, const char *line, const char *word)
{
	const char *p = line;

	while (p > text) {
		const char *start = p - 1;
		size_t n;

		while (start > text && start[-1] != '\n')
			start--;
		n = (size_t)(p - 1 - start);
		if (n == 0 || *start != '#')
			return 0;
		if (span_has(start, n, word))
			return 1;
		p = start;
	}
	return 0;
}

static void
check_example_keys(const char *text)
{
	char name[NAME_MAX_LEN];

	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		int found = 0, env_ok = 0;

		for (const char *p = text; *p; p = next_line(p)) {
			if (conf_line_key(p, name, sizeof(name)) == 0 || strcmp(name, k->name) != 0)
				continue;
			found++;
			env_ok = k->env == NULL || comment_above_mentions(text, p, k->env);
		}
		if (found != 1)
			fprintf(stderr, "docs: %s: key %s appears %d times\n", CONF_EXAMPLE,
			    k->name, found);
		CHECK(found == 1);
		if (found == 1 && !env_ok)
			fprintf(stderr, "docs: %s: the comment above %s does not name %s\n",
			    CONF_EXAMPLE, k->name, k->env);
		CHECK(found != 1 || env_ok);
	}
	/* No stale key: every "KEY =" line names a key of the table. */
	for (const char *p = text; *p; p = next_line(p)) {
		if (conf_line_key(p, name, sizeof(name)) == 0)
			continue;
		if (config_find(name) == NULL)
			fprintf(stderr, "docs: %s: unknown key %s\n", CONF_EXAMPLE, name);
		CHECK(config_find(name) != NULL);
	}
}

/* The example with every "# KEY = value" line uncommented, written to a temporary file. */
static int
write_uncommented(const char *text, char *path, size_t pathlen)
{
	const char *tmp = getenv("TMPDIR");
	char name[NAME_MAX_LEN];
	FILE *f;
	int fd, ok = 1;

	snprintf(path, pathlen, "%s/simd-docs.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "docs: %s: %s\n", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return -1;
	}
	for (const char *p = text; *p; p = next_line(p)) {
		int on = *p == '#' && conf_line_key(p, name, sizeof(name)) != 0 &&
		    config_find(name) != NULL;
		const char *s = on ? p + 1 : p;

		ok &= fwrite(s, 1, line_len(s), f) == line_len(s) && fputc('\n', f) != EOF;
	}
	if (fclose(f) != 0 || !ok) {
		fprintf(stderr, "docs: cannot write %s\n", path);
		unlink(path);
		return -1;
	}
	return 0;
}

/* The example parses as it is, and the defaults it shows are the real ones. */
static void
check_example_parses(const char *text)
{
	struct sim_config *def = config_new(), *c = config_new(), *all = config_new();
	char err[512], path[512], a[4200], b[4200];
	int rc;

	CHECK(def != NULL && c != NULL && all != NULL);
	if (def == NULL || c == NULL || all == NULL)
		goto out;
	rc = config_load_file(c, CONF_EXAMPLE, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "docs: %s does not parse: %s\n", CONF_EXAMPLE, err);
	CHECK(rc == 0);
	if (write_uncommented(text, path, sizeof(path)) != 0) {
		CHECK(0);
		goto out;
	}
	rc = config_load_file(all, path, err, sizeof(err));
	unlink(path);
	if (rc != 0)
		fprintf(stderr, "docs: %s uncommented does not parse: %s\n", CONF_EXAMPLE, err);
	CHECK(rc == 0);
	for (size_t i = 0; rc == 0 && i < config_nkeys; i++) {
		config_format(def, &config_keys[i], a, sizeof(a));
		config_format(all, &config_keys[i], b, sizeof(b));
		if (strcmp(a, b) != 0)
			fprintf(stderr, "docs: %s shows %s = %s; the default is %s\n", CONF_EXAMPLE,
			    config_keys[i].name, b, a);
		CHECK(strcmp(a, b) == 0);
	}
out:
	config_free(def);
	config_free(c);
	config_free(all);
}

/* ---- simd.conf(5) ---- */

/* A bound as the man page writes it: integers plainly, modes in octal. */
static void
fmt_bound(const struct config_key *k, double v, char *buf, size_t len)
{
	if (k->type == CFG_MODE)
		snprintf(buf, len, v == 0 ? "0" : "0%o", (unsigned)v);
	else if (v == (double)(long long)v)
		snprintf(buf, len, "%lld", (long long)v);
	else
		snprintf(buf, len, "%g", v);
}

/* The entry of key: from its ".It Cm KEY" line to the next ".It" or ".El"; NULL if none. */
static char *
man_entry(const char *text, const char *key, int *count)
{
	char it[NAME_MAX_LEN + 8];
	const char *start = NULL, *end;

	snprintf(it, sizeof(it), ".It Cm %s", key);
	*count = 0;
	for (const char *p = text; *p; p = next_line(p)) {
		if (line_starts_word(p, it)) {
			(*count)++;
			if (start == NULL)
				start = p;
		}
	}
	if (start == NULL)
		return NULL;
	for (end = next_line(start); *end; end = next_line(end))
		if (line_starts_word(end, ".It") || line_starts_word(end, ".El"))
			break;
	return strndup(start, (size_t)(end - start));
}

static void
expect_in(const char *entry, const char *key, const char *what)
{
	int ok = strstr(entry, what) != NULL;

	if (!ok)
		fprintf(stderr, "docs: %s: the entry of %s lacks \"%s\"\n", MAN_CONF, key, what);
	CHECK(ok);
}

static void
check_man_entry(const struct config_key *k, const char *entry)
{
	char want[256], lo[64], hi[64];

	if (k->def[0] != '\0')
		snprintf(want, sizeof(want), "Default:\n.Ql %s .\n", k->def);
	else
		snprintf(want, sizeof(want), "Default: empty.\n");
	expect_in(entry, k->name, want);
	if (k->type == CFG_INT || k->type == CFG_DOUBLE || k->type == CFG_MODE) {
		fmt_bound(k, k->min, lo, sizeof(lo));
		fmt_bound(k, k->max, hi, sizeof(hi));
		snprintf(want, sizeof(want), "Range %s to %s", lo, hi);
		expect_in(entry, k->name, want);
	}
	if (k->env != NULL) {
		snprintf(want, sizeof(want), ".Ev %s", k->env);
		expect_in(entry, k->name, want);
	}
	if (k->flags & CFG_RUNTIME) {
		expect_in(entry, k->name, "Re-read on\n.Dv SIGHUP .");
	} else {
		expect_in(entry, k->name, "Read at start only.");
		CHECK(strstr(entry, "Re-read on") == NULL);
	}
}

/* The text between the lines ".Ss TITLE" (or ".Sh TITLE") and the next ".Sh". */
static char *
man_section(const char *text, const char *head)
{
	const char *start = NULL, *end;

	for (const char *p = text; *p && start == NULL; p = next_line(p))
		if (strncmp(p, head, strlen(head)) == 0 && p[strlen(head)] == '\n')
			start = p;
	if (start == NULL)
		return NULL;
	for (end = next_line(start); *end; end = next_line(end))
		if (line_starts_word(end, ".Sh"))
			break;
	return strndup(start, (size_t)(end - start));
}

/* The Reloading subsection names exactly the runtime keys, as ".Cm KEY". */
static void
check_runtime_list(const char *text)
{
	char *sec = man_section(text, ".Ss Reloading");
	char want[NAME_MAX_LEN + 8];

	CHECK(sec != NULL);
	if (sec == NULL) {
		fprintf(stderr, "docs: %s has no Reloading subsection\n", MAN_CONF);
		return;
	}
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		int listed = 0;

		snprintf(want, sizeof(want), ".Cm %s", k->name);
		for (const char *p = sec; *p; p = next_line(p))
			listed |= line_starts_word(p, want);
		if (listed != !!(k->flags & CFG_RUNTIME))
			fprintf(stderr, "docs: %s: Reloading %s %s, a %sruntime key\n", MAN_CONF,
			    listed ? "lists" : "does not list", k->name,
			    k->flags & CFG_RUNTIME ? "" : "non-");
		CHECK(listed == !!(k->flags & CFG_RUNTIME));
	}
	free(sec);
}

static void
check_man_conf(const char *text)
{
	char *keys = man_section(text, ".Sh KEYS");
	char name[NAME_MAX_LEN];

	for (size_t i = 0; i < config_nkeys; i++) {
		int count;
		char *entry = man_entry(text, config_keys[i].name, &count);

		if (count != 1)
			fprintf(stderr, "docs: %s: .It Cm %s appears %d times\n", MAN_CONF,
			    config_keys[i].name, count);
		CHECK(count == 1);
		if (entry != NULL)
			check_man_entry(&config_keys[i], entry);
		free(entry);
	}
	check_runtime_list(text);
	CHECK(keys != NULL);
	/* No stale key: every entry of the KEYS section is a key of the table. */
	for (const char *p = keys ? keys : ""; *p; p = next_line(p)) {
		if (strncmp(p, ".It Cm ", 7) != 0)
			continue;
		if (sscanf(p + 7, "%63[a-z0-9_]", name) != 1)
			continue;
		if (config_find(name) == NULL)
			fprintf(stderr, "docs: %s: entry of unknown key %s\n", MAN_CONF, name);
		CHECK(config_find(name) != NULL);
	}
	free(keys);
}

/* ---- simd(8), simctl(1), README.md ---- */

static int
has_line(const char *text, const char *prefix)
{
	for (const char *p = text; *p; p = next_line(p))
		if (line_starts_word(p, prefix))
			return 1;
	return 0;
}

static void
check_man_simd(const char *text)
{
	char want[128];
	char *env = man_section(text, ".Sh ENVIRONMENT");

	CHECK(env != NULL);
	if (env == NULL)
		return;
	CHECK(has_line(env, ".It Ev SIMD_CONFIG"));
	for (size_t i = 0; i < config_nkeys; i++) {
		if (config_keys[i].env == NULL)
			continue;
		snprintf(want, sizeof(want), ".It Ev %s", config_keys[i].env);
		if (!has_line(env, want))
			fprintf(stderr, "docs: %s: ENVIRONMENT lacks %s\n", MAN_SIMD,
			    config_keys[i].env);
		CHECK(has_line(env, want));
	}
	free(env);
}

/* "simctl NAME" not followed by a character that would make it another word. */
static int
mentions_command(const char *text, const char *name)
{
	char want[NAME_MAX_LEN + 8];
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), "simctl %s", name);
	for (const char *p = strstr(text, want); p != NULL; p = strstr(p + 1, want))
		if (!isalnum((unsigned char)p[n]) && p[n] != '-' && p[n] != '_')
			return 1;
	return 0;
}

static void
check_methods(const char *simctl1, const char *readme, const char *simd8)
{
	char want[NAME_MAX_LEN + 8];
	size_t n = 0;

	for (const struct cmd_entry *const *e = cmd_table; *e != NULL; e++, n++) {
		if ((*e)->flags & CMD_NOVERB) { /* the protocol's own: simd(8) says it */
			snprintf(want, sizeof(want), ".It Cm %s", (*e)->name);
			if (simd8 != NULL && !has_line(simd8, want))
				fprintf(
				    stderr, "docs: %s lacks the method %s\n", MAN_SIMD, (*e)->name);
			CHECK(simd8 != NULL && has_line(simd8, want));
			continue;
		}
		snprintf(want, sizeof(want), ".It Cm %s", (*e)->name);
		if (simctl1 != NULL && !has_line(simctl1, want))
			fprintf(stderr, "docs: %s lacks the command %s\n", MAN_SIMCTL, (*e)->name);
		CHECK(simctl1 != NULL && has_line(simctl1, want));
		if (readme != NULL && !mentions_command(readme, (*e)->name))
			fprintf(stderr, "docs: %s never shows \"simctl %s\"\n", README, (*e)->name);
		CHECK(readme != NULL && mentions_command(readme, (*e)->name));
	}
	CHECK(n >= 12); /* the table is there at all */
}

/* The text of a markdown section, from its heading to the next one of that level. */
static char *
md_section(const char *text, const char *heading)
{
	const char *p = strstr(text, heading), *e;

	if (p == NULL)
		return NULL;
	e = strstr(p + strlen(heading), "\n## ");
	return strndup(p, e != NULL ? (size_t)(e - p) : strlen(p));
}

/* Whether word stands in text with no letter, digit or _ glued to either side. */
static int
has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(text, word); p != NULL; p = strstr(p + 1, word))
		if ((p == text || (!isalnum((unsigned char)p[-1]) && p[-1] != '_')) &&
		    !isalnum((unsigned char)p[n]) && p[n] != '_')
			return 1;
	return 0;
}

/* README's Layout names every module of lib/ (cmd_*.c as a group). */
static void
check_layout(const char *readme)
{
	char *layout = md_section(readme, "## Layout"), name[NAME_MAX_LEN];
	DIR *d = opendir("lib");
	struct dirent *de;
	size_t n;

	CHECK(layout != NULL && d != NULL);
	while (layout != NULL && d != NULL && (de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 3 || n >= sizeof(name) || strcmp(de->d_name + n - 2, ".c") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 2), de->d_name);
		if (strncmp(name, "cmd_", 4) == 0)
			snprintf(name, sizeof(name), "cmd_*.c");
		if (!has_word(layout, name))
			fprintf(stderr, "docs: %s: Layout omits the module %s\n", README, name);
		CHECK(has_word(layout, name));
	}
	if (d != NULL)
		closedir(d);
	free(layout);
}

/*
 * Facts a new user tripped over: make install writes etc/simd.conf (when there is
 * none); root's data directory is /var/lib/simd; row keys start with the seed.
 */
static void
check_facts(const char *readme, const char *man8)
{
	CHECK(strstr(readme, "does not create") == NULL);
	CHECK(strstr(man8, "does not create") == NULL);
	CHECK(strstr(readme, "/var/lib/simd/shop.db") != NULL);
	for (const char *p = strstr(readme, "agent_007:"); p != NULL;
	     p = strstr(p + 1, "agent_007:")) {
		int seeded = p - readme >= 3 && strncmp(p - 3, "s7:", 3) == 0;
		if (!seeded)
			fprintf(stderr, "docs: %s: a key without its seed: %.30s\n", README, p);
		CHECK(seeded);
	}
}

/* The helpers themselves: a test that cannot fail proves nothing. */
static void
check_helpers(void)
{
	char name[NAME_MAX_LEN];
	int count;
	char *e;

	CHECK(conf_line_key("# max_concurrent = 50", name, sizeof(name)) != 0 &&
	    strcmp(name, "max_concurrent") == 0);
	CHECK(conf_line_key("pool_size=3", name, sizeof(name)) == 10);
	CHECK(conf_line_key("# Shopping sessions in flight at once.", name, sizeof(name)) == 0);
	CHECK(!mentions_command("simctl stopped", "stop"));
	CHECK(mentions_command("run `simctl stop --wait`", "stop"));
	CHECK(!mentions_command("simctl checkpoints", "checkpoint"));
	e = man_entry(".Bl\n.It Cm a Ar x\ntext a\n.It Cm ab\nmore\n.El\n", "a", &count);
	CHECK(e != NULL && count == 1 && strcmp(e, ".It Cm a Ar x\ntext a\n") == 0);
	free(e);
	CHECK(man_entry(".It Cm ab\n", "a", &count) == NULL && count == 0);
	CHECK(has_word("lib: engine, store", "engine") && !has_word("engines", "engine") &&
	    !has_word("store_pg", "store"));
}

int
main(void)
{
	char *conf = slurp(CONF_EXAMPLE), *man5 = slurp(MAN_CONF), *man8 = slurp(MAN_SIMD);
	char *man1 = slurp(MAN_SIMCTL), *readme = slurp(README);

	check_helpers();
	CHECK(conf != NULL && man5 != NULL && man8 != NULL && man1 != NULL && readme != NULL);
	if (conf != NULL) {
		check_example_keys(conf);
		check_example_parses(conf);
	}
	if (man5 != NULL)
		check_man_conf(man5);
	if (man8 != NULL)
		check_man_simd(man8);
	check_methods(man1, readme, man8);
	if (readme != NULL && man8 != NULL) {
		check_layout(readme);
		check_facts(readme, man8);
	}
	free(conf);
	free(man5);
	free(man8);
	free(man1);
	free(readme);
	return CHECK_DONE();
}
