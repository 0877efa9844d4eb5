/*
 * completion.c - "simctl completion bash|zsh": a completion script made from
 * simctl's own tables (verbs, their flags, the global options), so that it
 * can never disagree with the commands it completes.
 */
#include <stdio.h>
#include <string.h>

#include "simctl.h"

/* The words of every verb, daemon's and simctl's own, space-separated. */
static void
put_verbs(FILE *f)
{
	const struct verb *tables[] = { verbs, local_verbs };

	for (size_t t = 0; t < 2; t++)
		for (const struct verb *v = tables[t]; v->name; v++)
			fprintf(f, "%s%s", t + (size_t)(v != tables[t]) ? " " : "", v->name);
}

/* ---- bash ---- */

/* The global options, space- or '|'-separated: all, those with a PATH, the other valued. */
enum gsel { G_ALL, G_PATH, G_VALUE };

static void
bash_globals(FILE *f, enum gsel sel)
{
	const char *sep = sel == G_ALL ? " " : "|";
	int n = 0;

	for (const struct gopt *g = gopts; g->lo; g++) {
		int path = g->arg != NULL && strcmp(g->arg, "PATH") == 0;
		if ((sel == G_PATH && !path) || (sel == G_VALUE && (g->arg == NULL || path)))
			continue;
		if (g->sh)
			fprintf(f, "%s%s", n++ ? sep : "", g->sh);
		fprintf(f, "%s%s", n++ ? sep : "", g->lo);
	}
}

static void
bash_verb(FILE *f, const struct verb *v)
{
	struct vflag fl;
	int valued = 0;

	fprintf(f, "\t%s)\n", v->name);
	for (size_t i = 0; verb_flag(v, i, &fl); i++)
		if (fl.arg != NULL)
			fprintf(f, "%s--%s", valued++ ? "|" : "\t\tcase $prev in ", fl.name);
	if (valued)
		fprintf(f, ") return ;; esac\n");
	fprintf(f, "\t\tCOMPREPLY=($(compgen -W \"");
	for (size_t i = 0; verb_flag(v, i, &fl); i++)
		fprintf(f, "--%s ", fl.name);
	fprintf(f, "-h --help\" -- \"$cur\")) ;;\n");
}

static void
bash_script(FILE *f)
{
	fprintf(f,
	    "# bash completion for simctl, made by \"simctl completion bash\" from its tables\n"
	    "_simctl()\n{\n"
	    "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} verb= i\n"
	    "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	    "\t\tcase ${COMP_WORDS[i]} in\n\t\t");
	bash_globals(f, G_PATH);
	fputc('|', f);
	bash_globals(f, G_VALUE);
	fprintf(f,
	    ") i=$((i + 1)) ;;\n"
	    "\t\t-*) ;;\n"
	    "\t\t*) verb=${COMP_WORDS[i]}; break ;;\n"
	    "\t\tesac\n\tdone\n"
	    "\tif [ -z \"$verb\" ]; then\n"
	    "\t\tcase $prev in\n\t\t");
	bash_globals(f, G_PATH);
	fprintf(f, ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n\t\t");
	bash_globals(f, G_VALUE);
	fprintf(f,
	    ") return ;;\n"
	    "\t\tesac\n"
	    "\t\tcase $cur in\n"
	    "\t\t-*) COMPREPLY=($(compgen -W \"");
	bash_globals(f, G_ALL);
	fprintf(f,
	    "\" -- \"$cur\")) ;;\n"
	    "\t\t*) COMPREPLY=($(compgen -W \"");
	put_verbs(f);
	fprintf(f,
	    "\" -- \"$cur\")) ;;\n"
	    "\t\tesac\n\t\treturn\n\tfi\n"
	    "\tcase $verb in\n");
	for (const struct verb *v = verbs; v->name; v++)
		bash_verb(f, v);
	fprintf(f,
	    "\tcompletion) COMPREPLY=($(compgen -W \"bash zsh\" -- \"$cur\")) ;;\n"
	    "\tesac\n}\ncomplete -F _simctl simctl\n");
}

/* ---- zsh ---- */

/* s inside a single-quoted _arguments description or _describe item: quotes, brackets. */
static void
zsh_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else if (*s == '[' || *s == ']')
			fprintf(f, "\\%c", *s);
		else
			fputc(*s, f);
	}
}

static void
zsh_describe(FILE *f, const struct verb *table)
{
	for (const struct verb *v = table; v->name; v++) {
		fprintf(f, "\t\t'%s:", v->name);
		zsh_text(f, v->help);
		fprintf(f, "'\n");
	}
}

static void
zsh_globals(FILE *f)
{
	for (const struct gopt *g = gopts; g->lo; g++) {
		if (g->sh)
			fprintf(f, "\t\t'(%s %s)'{%s,%s}'[", g->sh, g->lo, g->sh, g->lo);
		else
			fprintf(f, "\t\t'%s[", g->lo);
		zsh_text(f, g->help);
		fprintf(f, "]%s%s%s' \\\n", g->arg ? ":" : "", g->arg ? g->arg : "",
		    g->arg ? strcmp(g->arg, "PATH") == 0 ? ":_files" : ":" : "");
	}
}

static void
zsh_verb(FILE *f, const struct verb *v)
{
	struct vflag fl;

	fprintf(f, "\t\t%s) _arguments", v->name);
	if (v->pos_arg)
		fprintf(f, " '1:%s:'", v->pos_arg);
	for (size_t i = 0; verb_flag(v, i, &fl); i++) {
		fprintf(f, " '--%s[", fl.name);
		zsh_text(f, fl.help);
		fprintf(f, "]%s%s%s'", fl.arg ? ":" : "", fl.arg ? fl.arg : "", fl.arg ? ":" : "");
	}
	fprintf(f, " ;;\n");
}

static void
zsh_script(FILE *f)
{
	fprintf(f,
	    "#compdef simctl\n"
	    "# zsh completion for simctl, made by \"simctl completion zsh\" from its tables\n"
	    "_simctl() {\n"
	    "\tlocal curcontext=$curcontext state line\n"
	    "\tlocal -a commands\n"
	    "\tcommands=(\n");
	zsh_describe(f, verbs);
	zsh_describe(f, local_verbs);
	fprintf(f, "\t)\n\t_arguments -C \\\n");
	zsh_globals(f);
	fprintf(f,
	    "\t\t'1:command:->command' \\\n"
	    "\t\t'*::argument:->argument' && return\n"
	    "\tcase $state in\n"
	    "\tcommand) _describe -t commands 'simctl command' commands ;;\n"
	    "\targument)\n"
	    "\t\tcase $words[1] in\n");
	for (const struct verb *v = verbs; v->name; v++)
		zsh_verb(f, v);
	fprintf(f,
	    "\t\tcompletion) _arguments '1:shell:(bash zsh)' ;;\n"
	    "\t\tesac ;;\n\tesac\n}\n_simctl \"$@\"\n");
}

int
completion_main(int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "bash") == 0) {
		bash_script(stdout);
	} else if (argc == 1 && strcmp(argv[0], "zsh") == 0) {
		zsh_script(stdout);
	} else {
		fprintf(stderr, "simctl: completion wants one shell: bash or zsh\n");
		return 2;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
