/*
 * cfg_ref.c - the reference configuration file (deploy/pxtsgw.conf, made
 * by "build/plain/tests/test_cfg --write-reference"): every key of the
 * table with its help, bounds and default, commented out, by section.
 */
#include "cfg_int.h"

#include <string.h>

/* Writes text as "# " lines of at most CFG_WRAP columns. */
static void write_wrapped(FILE *out, const char *text)
{
	const char *p = text;
	size_t col = 0;

	while (*p) {
		size_t w;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		w = strcspn(p, " ");
		if (col && col + 1 + w > CFG_WRAP) {
			fputc('\n', out);
			col = 0;
		}
		if (col == 0) {
			fputs("#", out);
			col = 1;
		}
		fprintf(out, " %.*s", (int)w, p);
		col += 1 + w;
		p += w;
	}
	if (col)
		fputc('\n', out);
}

static void write_key(FILE *out, const struct cfg_key *k)
{
	char text[1024];
	size_t o;

	o = (size_t)snprintf(text, sizeof(text), "%s", k->help);
	switch (k->type) {
	case CFG_INT:
		snprintf(text + o, sizeof(text) - o, " Integer, %ld..%ld.", k->min, k->max);
		break;
	case CFG_BOOL:
		snprintf(text + o, sizeof(text) - o, " Boolean: true or false.");
		break;
	case CFG_ENUM:
		o += (size_t)snprintf(text + o, sizeof(text) - o, " One of:");
		for (const char *const *v = k->values; *v && o < sizeof(text); v++)
			o += (size_t)snprintf(text + o, sizeof(text) - o, " %s%s", *v,
					      v[1] ? "," : ".");
		break;
	case CFG_LIST:
		snprintf(text + o, sizeof(text) - o,
			 " Comma-separated, 1..%d items of A-Z a-z 0-9 . _ - "
			 "(each under %d characters).", CFG_LIST_ITEMS, CFG_LIST_ITEM_MAX);
		break;
	case CFG_STRING:
		break;
	}
	if (k->restart) {
		o = strlen(text);
		snprintf(text + o, sizeof(text) - o, " A reload (SIGHUP) keeps the running "
			 "value: a change needs a restart.");
	}
	write_wrapped(out, text);
	if (*k->def)
		fprintf(out, "# %s = %s\n", k->name, k->def);
	else
		fprintf(out, "# %s =\n", k->name);
}

/* Length of the section prefix of a key ("http" of "http.listen"). */
static size_t section_len(const char *key)
{
	return strcspn(key, ".");
}

static const char *section_title(const char *key)
{
	size_t n = section_len(key);

	for (size_t s = 0; s < cfg_nsections; s++)
		if (strlen(cfg_sections[s].name) == n && !strncmp(cfg_sections[s].name, key, n))
			return cfg_sections[s].title;
	return NULL;
}

static bool same_section(const char *a, const char *b)
{
	size_t n = section_len(a);

	return section_len(b) == n && strncmp(a, b, n) == 0;
}

void cfg_write_reference(FILE *out)
{
	static const char header[] =
		"# pxtsgw.conf - reference configuration of pxtsgw, the Parlay X\n"
		"# Terminal Status gateway.\n"
		"#\n"
		"# Written by cfg_write_reference() from the key table in src/cfg.c;\n"
		"# tests/unit/test_cfg.c checks that this file is exactly that output\n"
		"# (regenerate it with: build/plain/tests/test_cfg --write-reference).\n"
		"# Every key is listed with its default, commented out.\n"
		"#\n"
		"# Format: \"key = value\", one per line; blanks around key and value\n"
		"# are ignored. '#' starts a comment only at the start of a line, so a\n"
		"# '#' inside a value is kept. Booleans are true or false (yes/no/1/0\n"
		"# accepted); durations are integers in the unit the key ends with\n"
		"# (-ms, -s); lists are comma-separated. An unknown key or an invalid\n"
		"# value stops start-up. Any key can also be set with -o key=value.\n"
		"#\n"
		"# SIGHUP reloads: the configuration is built again as at start (the\n"
		"# defaults, this file, the -o options) and the users and group files\n"
		"# are read again; a result that would stop a start is refused as a\n"
		"# whole and the running configuration stays. Keys whose text says\n"
		"# so need a restart: a reload keeps their running value.\n";

	fputs(header, out);
	/* Sections in the order they first appear in the table. */
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const char *title;
		size_t j;

		for (j = 0; j < i; j++)
			if (same_section(cfg_keys[j].name, cfg_keys[i].name))
				break;
		if (j < i)
			continue;
		title = section_title(cfg_keys[i].name);
		fprintf(out, "\n# ---- %.*s%s%s\n", (int)section_len(cfg_keys[i].name),
			cfg_keys[i].name, title ? ": " : "", title ? title : "");
		for (j = i; j < cfg_nkeys; j++) {
			if (!same_section(cfg_keys[j].name, cfg_keys[i].name))
				continue;
			fputc('\n', out);
			write_key(out, &cfg_keys[j]);
		}
	}
}
