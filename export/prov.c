/* prov.c: the provenance record of a run as W3C PROV-XML (formats.md §6), built with libxml2's
 * tree API, and validation of an XML file against an XSD without network access.
 *
 * The record keeps only what callers pass (DESIGN.md §7): stage names and parameters, file
 * labels (package-relative paths or descriptions) with their SHA-256, library versions and the
 * command line. Identifiers are assigned when the document is written, so every id is a valid,
 * unique QName whatever the labels look like. */
#define _POSIX_C_SOURCE 200809L
#include "export.h"
#include "sha256.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libxml/catalog.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#define NS_PROV "http://www.w3.org/ns/prov#"
#define NS_XSD "http://www.w3.org/2001/XMLSchema"
#define NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define NS_CTW "https://cardiotwin.org/ns#"
#define NS_PARAM "https://cardiotwin.org/ns/param#"
#define NS_LIB "https://cardiotwin.org/ns/lib#"
#define NS_RUN_BASE "https://cardiotwin.org/run/"
#define AGENT_ID "cardiotwin"

#if defined(__clang__)
#define CTW_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define CTW_COMPILER "gcc " __VERSION__
#else
#define CTW_COMPILER "unknown"
#endif

/* Derivations (output x input pairs) recorded per stage at most; beyond, only used/generated. */
#define MAX_DERIVATIONS_PER_STAGE 4096

typedef struct prov_kv {
	char *name, *value;
} prov_kv;

typedef struct prov_activity {
	char *stage;
	double t_start, t_end;
	int has_times;  /* 0 for a stage only named by ctw_prov_file() */
	prov_kv *params;
	int n_params;
	char *id;       /* local part, assigned by ctw_prov_write() */
} prov_activity;

typedef struct prov_entity {
	char *label;
	char sha256[CTW_SHA256_HEX_LEN];
	char *id;
} prov_entity;

typedef struct prov_rel {
	int entity;
	char *stage;
	int is_output;
} prov_rel;

struct ctw_prov {
	char *ns_run;   /* https://cardiotwin.org/run/<case id>/<UTC time>/ */
	char *command;  /* shell-quoted, NULL until set */
	prov_kv *libs;
	int n_libs, software_set;
	prov_activity *acts;
	int n_acts, cap_acts;
	prov_entity *ents;
	int n_ents, cap_ents;
	prov_rel *rels;
	int n_rels, cap_rels;
};

/* ---- small helpers ------------------------------------------------------------------------- */

static int grow(ctw_ctx *ctx, void **arr, int *cap, int n, size_t size)
{
	void *p;
	int c;

	if (n < *cap)
		return CTW_OK;
	c = *cap ? 2 * *cap : 8;
	p = ctw_realloc(ctx, *arr, (size_t)c * size);
	if (!p)
		return CTW_ERR_NOMEM;
	*arr = p;
	*cap = c;
	return CTW_OK;
}

/* Length of the UTF-8 sequence at s and its code point, 0 when invalid (overlong forms,
 * surrogates and values above U+10FFFF included). */
static int utf8_next(const unsigned char *s, unsigned long *cp)
{
	unsigned long c = s[0], min;
	int n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		n = 2, c &= 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 3, c &= 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* A character XML 1.0 allows in content. */
static int xml_char(unsigned long c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
	       (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/* 1 when s is valid UTF-8 made only of characters XML allows. */
static int xml_text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long c;
	int n;

	while (*p) {
		n = utf8_next(p, &c);
		if (!n || !xml_char(c))
			return 0;
		p += n;
	}
	return 1;
}

static int ascii_letter(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int ascii_name_char(int c)
{
	return ascii_letter(c) || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* 1 when s is an (ASCII) NCName, usable as the local part of an element name. */
static int ncname_ok(const char *s)
{
	if (!s || !(ascii_letter(s[0]) || s[0] == '_'))
		return 0;
	for (s++; *s; s++)
		if (!ascii_name_char((unsigned char)*s))
			return 0;
	return 1;
}

static int check_text(ctw_ctx *ctx, const char *what, const char *s)
{
	if (!s)
		return ctw_error(ctx, CTW_ERR_INVALID, "provenance", "%s is missing", what);
	if (!xml_text_ok(s))
		return ctw_error(ctx, CTW_ERR_INVALID, "provenance",
				 "%s is not UTF-8 text that XML can hold", what);
	return CTW_OK;
}

/* ---- identifiers ----------------------------------------------------------------------------- */

/* An NCName derived from text: ASCII letters, digits, '-', '.', '_' are kept, anything else
 * (each UTF-8 character counts once) becomes one '_', runs of '_' collapse, and a name not
 * starting with a letter or '_' gets an "f" in front. New string (ctw_free). */
static char *ncname_from(ctw_ctx *ctx, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t j = 0;
	char *out = ctw_malloc(ctx, strlen(text) + 2);

	if (!out)
		return NULL;
	if (!ascii_letter(p[0]) && p[0] != '_')
		out[j++] = 'f';
	while (*p) {
		unsigned long c;
		int n = utf8_next(p, &c);
		if (n == 1 && ascii_name_char(*p)) {
			out[j++] = (char)*p;
		} else if (j == 0 || out[j - 1] != '_') {
			out[j++] = '_';
		}
		p += n ? n : 1;
	}
	out[j] = '\0';
	return out;
}

typedef struct id_set {
	char **v;
	int n, cap;
} id_set;

static int id_used(const id_set *s, const char *id)
{
	int i;
	for (i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], id))
			return 1;
	return 0;
}

/* A unique id from text (ncname_from, then "_2", "_3", ... on collision), added to s (which
 * borrows it: the owner frees it). NULL on allocation failure. */
static char *id_unique(ctw_ctx *ctx, id_set *s, const char *text)
{
	char *base = ncname_from(ctx, text), *id;
	size_t n;
	int k;

	if (!base)
		return NULL;
	if (grow(ctx, (void **)&s->v, &s->cap, s->n, sizeof(*s->v))) {
		ctw_free(ctx, base);
		return NULL;
	}
	if (!id_used(s, base)) {
		s->v[s->n++] = base;
		return base;
	}
	n = strlen(base) + 16;
	id = ctw_malloc(ctx, n);
	if (!id) {
		ctw_free(ctx, base);
		return NULL;
	}
	for (k = 2;; k++) {
		snprintf(id, n, "%s_%d", base, k);
		if (!id_used(s, id))
			break;
	}
	ctw_free(ctx, base);
	s->v[s->n++] = id;
	return id;
}

/* ---- building ------------------------------------------------------------------------------- */

static void kv_free(ctw_ctx *ctx, prov_kv *kv, int n)
{
	int i;
	for (i = 0; i < n; i++) {
		ctw_free(ctx, kv[i].name);
		ctw_free(ctx, kv[i].value);
	}
	ctw_free(ctx, kv);
}

/* Copies n (name, value) pairs; names must be NCNames, values XML text. */
static int kv_copy(ctw_ctx *ctx, const char *what, const char *const *names, const char *const *values,
		   int n, prov_kv **out)
{
	prov_kv *kv;
	int i, ret;

	*out = NULL;
	if (n < 0 || (n > 0 && (!names || !values)))
		return ctw_error(ctx, CTW_ERR_INVALID, "provenance", "bad %s list", what);
	for (i = 0; i < n; i++) {
		if (!ncname_ok(names[i]))
			return ctw_error(ctx, CTW_ERR_INVALID, "provenance",
					 "%s name '%s' is not an XML name (letter or '_', then letters, digits, '-', '.', '_')",
					 what, names[i] ? names[i] : "(null)");
		if ((ret = check_text(ctx, what, values[i])))
			return ret;
	}
	if (n == 0)
		return CTW_OK;
	kv = ctw_calloc(ctx, (size_t)n, sizeof(*kv));
	if (!kv)
		return CTW_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		kv[i].name = ctw_strdup(ctx, names[i]);
		kv[i].value = ctw_strdup(ctx, values[i]);
		if (!kv[i].name || !kv[i].value) {
			kv_free(ctx, kv, i + 1);
			return CTW_ERR_NOMEM;
		}
	}
	*out = kv;
	return CTW_OK;
}

/* "YYYY-MM-DDTHH:MM:SSZ" (sep ':') or "YYYY-MM-DDTHH-MM-SSZ" (sep '-') of Unix time t, UTC. */
static int format_time(double t, char sep, char out[64])
{
	struct tm tm;
	time_t s;

	if (!isfinite(t) || t < 0 || t > 253402300799.0) /* 9999-12-31T23:59:59Z */
		return -1;
	s = (time_t)floor(t);
	if (!gmtime_r(&s, &tm))
		return -1;
	snprintf(out, 64, "%04d-%02d-%02dT%02d%c%02d%c%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, sep, tm.tm_min, sep, tm.tm_sec);
	return 0;
}

int ctw_prov_new(ctw_ctx *ctx, const char *case_id, ctw_prov **out)
{
	static const char hexd[] = "0123456789ABCDEF";
	const unsigned char *c;
	char stamp[64];
	ctw_prov *p;
	size_t n, j;

	*out = NULL;
	if (!case_id || !*case_id)
		return ctw_error(ctx, CTW_ERR_INVALID, "provenance", "case id is empty");
	if (format_time((double)time(NULL), '-', stamp))
		return ctw_error(ctx, CTW_ERR_INTERNAL, "provenance", "the clock is out of range");
	p = ctw_calloc(ctx, 1, sizeof(*p));
	if (!p)
		return CTW_ERR_NOMEM;
	/* The case id goes into the namespace URI percent-encoded (RFC 3986 unreserved kept). */
	n = strlen(NS_RUN_BASE) + 3 * strlen(case_id) + strlen(stamp) + 3;
	p->ns_run = ctw_malloc(ctx, n);
	if (!p->ns_run) {
		ctw_free(ctx, p);
		return CTW_ERR_NOMEM;
	}
	j = (size_t)snprintf(p->ns_run, n, "%s", NS_RUN_BASE);
	for (c = (const unsigned char *)case_id; *c; c++) {
		if (ascii_letter(*c) || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_' ||
		    *c == '~') {
			p->ns_run[j++] = (char)*c;
		} else {
			p->ns_run[j++] = '%';
			p->ns_run[j++] = hexd[*c >> 4];
			p->ns_run[j++] = hexd[*c & 15];
		}
	}
	snprintf(p->ns_run + j, n - j, "/%s/", stamp);
	*out = p;
	return CTW_OK;
}

void ctw_prov_free(ctw_ctx *ctx, ctw_prov *p)
{
	int i;

	if (!p)
		return;
	ctw_free(ctx, p->ns_run);
	ctw_free(ctx, p->command);
	kv_free(ctx, p->libs, p->n_libs);
	for (i = 0; i < p->n_acts; i++) {
		ctw_free(ctx, p->acts[i].stage);
		ctw_free(ctx, p->acts[i].id);
		kv_free(ctx, p->acts[i].params, p->acts[i].n_params);
	}
	ctw_free(ctx, p->acts);
	for (i = 0; i < p->n_ents; i++) {
		ctw_free(ctx, p->ents[i].label);
		ctw_free(ctx, p->ents[i].id);
	}
	ctw_free(ctx, p->ents);
	for (i = 0; i < p->n_rels; i++)
		ctw_free(ctx, p->rels[i].stage);
	ctw_free(ctx, p->rels);
	ctw_free(ctx, p);
}

/* Characters a POSIX shell leaves alone outside quotes. */
static int shell_safe(int c)
{
	return ascii_letter(c) || (c >= '0' && c <= '9') || (c && strchr("@%+=:,./-_", c));
}

/* Appends the shell-quoted form of arg to out (which has room: 4 * strlen + 3 bytes) and returns
 * the new end: as is when only safe characters, '...' for other XML-safe text, and bash/POSIX
 * 2024 $'...' with \xNN for control characters and bytes that are not UTF-8, so the command
 * stays exact and the document stays well-formed. */
static char *shell_quote(char *out, const char *arg)
{
	const unsigned char *p = (const unsigned char *)arg;
	int plain = *p != '\0', text = 1;
	unsigned long c;
	int n;

	for (; *p; p += n) {
		n = utf8_next(p, &c);
		if (!n || !xml_char(c) || c < 0x20 || c == 0x7f) {
			text = 0;
			n = n ? n : 1;
		}
		if (n != 1 || !shell_safe(*p))
			plain = 0;
	}
	if (plain)
		return out + sprintf(out, "%s", arg);
	if (text) {
		*out++ = '\'';
		for (p = (const unsigned char *)arg; *p; p++) {
			if (*p == '\'')
				out += sprintf(out, "'\\''");
			else
				*out++ = (char)*p;
		}
		*out++ = '\'';
		return out;
	}
	*out++ = '$';
	*out++ = '\'';
	for (p = (const unsigned char *)arg; *p; p += n) {
		n = utf8_next(p, &c);
		if (n && xml_char(c) && c >= 0x20 && c != 0x7f) {
			if (c == '\\' || c == '\'')
				*out++ = '\\';
			memcpy(out, p, (size_t)n);
			out += n;
		} else {
			n = 1;
			out += sprintf(out, "\\x%02X", *p);
		}
	}
	*out++ = '\'';
	return out;
}

int ctw_prov_set_command(ctw_ctx *ctx, ctw_prov *p, int argc, char *const *argv)
{
	size_t n = 1;
	char *cmd, *o;
	int i;

	if (argc < 1 || !argv)
		return ctw_error(ctx, CTW_ERR_INVALID, "provenance", "empty command line");
	for (i = 0; i < argc; i++) {
		if (!argv[i])
			return ctw_error(ctx, CTW_ERR_INVALID, "provenance", "argument %d is missing", i);
		n += 4 * strlen(argv[i]) + 4;
	}
	cmd = o = ctw_malloc(ctx, n);
	if (!cmd)
		return CTW_ERR_NOMEM;
	for (i = 0; i < argc; i++) {
		if (i)
			*o++ = ' ';
		o = shell_quote(o, argv[i]);
	}
	*o = '\0';
	ctw_free(ctx, p->command);
	p->command = cmd;
	return CTW_OK;
}

int ctw_prov_set_software(ctw_ctx *ctx, ctw_prov *p, const char *const *names, const char *const *versions,
			  int n)
{
	prov_kv *kv;
	int ret = kv_copy(ctx, "library", names, versions, n, &kv);

	if (ret)
		return ret;
	kv_free(ctx, p->libs, p->n_libs);
	p->libs = kv;
	p->n_libs = n;
	p->software_set = 1;
	return CTW_OK;
}

static prov_activity *find_activity(ctw_prov *p, const char *stage)
{
	int i;
	for (i = 0; i < p->n_acts; i++)
		if (!strcmp(p->acts[i].stage, stage))
			return &p->acts[i];
	return NULL;
}

/* The activity of stage, added without times when it is not there yet. */
static int get_activity(ctw_ctx *ctx, ctw_prov *p, const char *stage, prov_activity **out)
{
	prov_activity *a = find_activity(p, stage);

	if (!a) {
		if (grow(ctx, (void **)&p->acts, &p->cap_acts, p->n_acts, sizeof(*p->acts)))
			return CTW_ERR_NOMEM;
		a = &p->acts[p->n_acts];
		memset(a, 0, sizeof(*a));
		a->stage = ctw_strdup(ctx, stage);
		if (!a->stage)
			return CTW_ERR_NOMEM;
		p->n_acts++;
	}
	*out = a;
	return CTW_OK;
}

int ctw_prov_activity(ctw_ctx *ctx, ctw_prov *p, const char *stage, double t_start, double t_end,
		      const char *const *names, const char *const *values, int n)
{
	char t0[64], t1[64];
	prov_activity *a;
	prov_kv *kv;
	int ret;

	if ((ret = check_text(ctx, "stage name", stage)))
		return ret;
	if (!*stage)
		return ctw_error(ctx, CTW_ERR_INVALID, "provenance", "stage name is empty");
	if (format_time(t_start, ':', t0) || format_time(t_end, ':', t1) || t_end < t_start)
		return ctw_error(ctx, CTW_ERR_INVALID, stage, "bad activity times %.17g .. %.17g", t_start, t_end);
	a = find_activity(p, stage);
	if (a && a->has_times)
		return ctw_error(ctx, CTW_ERR_INVALID, stage, "activity recorded twice");
	if ((ret = kv_copy(ctx, "parameter", names, values, n, &kv)))
		return ret;
	if ((ret = get_activity(ctx, p, stage, &a))) {
		kv_free(ctx, kv, n);
		return ret;
	}
	a->t_start = t_start;
	a->t_end = t_end;
	a->has_times = 1;
	a->params = kv;
	a->n_params = n;
	return CTW_OK;
}

int ctw_prov_file(ctw_ctx *ctx, ctw_prov *p, const char *stage, const char *label, const char *sha256_hex,
		  int is_output)
{
	char sha[CTW_SHA256_HEX_LEN];
	prov_activity *a;
	prov_entity *e;
	int i, ret;

	if ((ret = check_text(ctx, "stage name", stage)) || (ret = check_text(ctx, "file label", label)))
		return ret;
	if (!*stage || !*label)
		return ctw_error(ctx, CTW_ERR_INVALID, "provenance", "empty stage name or file label");
	if (!sha256_hex || strlen(sha256_hex) != 64)
		return ctw_error(ctx, CTW_ERR_INVALID, label, "SHA-256 is not 64 hex digits");
	for (i = 0; i < 64; i++) {
		char c = sha256_hex[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return ctw_error(ctx, CTW_ERR_INVALID, label, "SHA-256 is not 64 hex digits");
		sha[i] = c;
	}
	sha[64] = '\0';
	if ((ret = get_activity(ctx, p, stage, &a)))
		return ret;
	/* One entity per (label, content): an output of one stage used by the next is one node. */
	for (i = 0; i < p->n_ents; i++)
		if (!strcmp(p->ents[i].label, label) && !strcmp(p->ents[i].sha256, sha))
			break;
	if (i == p->n_ents) {
		if (grow(ctx, (void **)&p->ents, &p->cap_ents, p->n_ents, sizeof(*p->ents)))
			return CTW_ERR_NOMEM;
		e = &p->ents[i];
		memset(e, 0, sizeof(*e));
		memcpy(e->sha256, sha, sizeof(sha));
		e->label = ctw_strdup(ctx, label);
		if (!e->label)
			return CTW_ERR_NOMEM;
		p->n_ents++;
	}
	for (ret = 0; ret < p->n_rels; ret++)
		if (p->rels[ret].entity == i && p->rels[ret].is_output == !!is_output &&
		    !strcmp(p->rels[ret].stage, stage))
			return CTW_OK; /* recorded already */
	if (grow(ctx, (void **)&p->rels, &p->cap_rels, p->n_rels, sizeof(*p->rels)))
		return CTW_ERR_NOMEM;
	p->rels[p->n_rels].entity = i;
	p->rels[p->n_rels].is_output = !!is_output;
	p->rels[p->n_rels].stage = ctw_strdup(ctx, stage);
	if (!p->rels[p->n_rels].stage)
		return CTW_ERR_NOMEM;
	p->n_rels++;
	return CTW_OK;
}

/* ---- writing -------------------------------------------------------------------------------- */

typedef struct builder {
	ctw_ctx *ctx;
	xmlDocPtr doc;
	xmlNodePtr root;
	xmlNsPtr prov, ctw, param, lib;
	char *qbuf; /* "run:<local>" scratch */
	size_t qcap;
	int failed;
} builder;

static xmlNodePtr add_text(builder *b, xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
	xmlNodePtr n = xmlNewTextChild(parent, ns, BAD_CAST name, BAD_CAST text);
	if (!n)
		b->failed = 1;
	return n;
}

static xmlNodePtr add_node(builder *b, xmlNodePtr parent, const char *name)
{
	xmlNodePtr n = xmlNewChild(parent, b->prov, BAD_CAST name, NULL);
	if (!n)
		b->failed = 1;
	return n;
}

/* Sets prov:<attr>="run:<local>" on n. */
static void set_qname(builder *b, xmlNodePtr n, const char *attr, const char *local)
{
	size_t need = strlen(local) + 5;

	if (!n)
		return;
	if (need > b->qcap) {
		char *q = ctw_realloc(b->ctx, b->qbuf, need);
		if (!q) {
			b->failed = 1;
			return;
		}
		b->qbuf = q;
		b->qcap = need;
	}
	snprintf(b->qbuf, b->qcap, "run:%s", local);
	if (!xmlNewNsProp(n, b->prov, BAD_CAST attr, BAD_CAST b->qbuf))
		b->failed = 1;
}

/* <prov:NAME><prov:R1 prov:ref="run:ID1"/><prov:R2 prov:ref="run:ID2"/>[<prov:time>]</prov:NAME> */
static xmlNodePtr add_relation(builder *b, const char *name, const char *r1, const char *id1, const char *r2,
			       const char *id2)
{
	xmlNodePtr n = add_node(b, b->root, name);

	if (n) {
		set_qname(b, add_node(b, n, r1), "ref", id1);
		set_qname(b, add_node(b, n, r2), "ref", id2);
	}
	return n;
}

static void build(builder *b, ctw_prov *p)
{
	char t[64];
	int i, j, k;

	/* the software agent */
	{
		xmlNodePtr ag = add_node(b, b->root, "softwareAgent");
		if (!ag)
			return;
		set_qname(b, ag, "id", AGENT_ID);
		add_text(b, ag, b->prov, "label", "cardiotwin");
		add_text(b, ag, b->ctw, "version", CTW_VERSION);
		add_text(b, ag, b->ctw, "compiler", CTW_COMPILER);
		for (i = 0; i < p->n_libs; i++)
			add_text(b, ag, b->lib, p->libs[i].name, p->libs[i].value);
		if (p->command)
			add_text(b, ag, b->ctw, "command", p->command);
	}
	/* one activity per stage */
	for (i = 0; i < p->n_acts; i++) {
		prov_activity *a = &p->acts[i];
		xmlNodePtr n = add_node(b, b->root, "activity");
		if (!n)
			return;
		set_qname(b, n, "id", a->id);
		if (a->has_times) {
			format_time(a->t_start, ':', t);
			add_text(b, n, b->prov, "startTime", t);
			format_time(a->t_end, ':', t);
			add_text(b, n, b->prov, "endTime", t);
		}
		add_text(b, n, b->prov, "label", a->stage);
		for (j = 0; j < a->n_params; j++)
			add_text(b, n, b->param, a->params[j].name, a->params[j].value);
	}
	/* one entity per file */
	for (i = 0; i < p->n_ents; i++) {
		xmlNodePtr n = add_node(b, b->root, "entity");
		if (!n)
			return;
		set_qname(b, n, "id", p->ents[i].id);
		add_text(b, n, b->prov, "label", p->ents[i].label);
		add_text(b, n, b->ctw, "sha256", p->ents[i].sha256);
	}
	/* relations: associations, usages, generations, derivations */
	for (i = 0; i < p->n_acts; i++)
		add_relation(b, "wasAssociatedWith", "activity", p->acts[i].id, "agent", AGENT_ID);
	for (i = 0; i < p->n_rels; i++)
		if (!p->rels[i].is_output)
			add_relation(b, "used", "activity", find_activity(p, p->rels[i].stage)->id, "entity",
				     p->ents[p->rels[i].entity].id);
	for (i = 0; i < p->n_rels; i++) {
		prov_activity *a;
		xmlNodePtr n;
		if (!p->rels[i].is_output)
			continue;
		a = find_activity(p, p->rels[i].stage);
		n = add_relation(b, "wasGeneratedBy", "entity", p->ents[p->rels[i].entity].id, "activity", a->id);
		if (n && a->has_times) {
			format_time(a->t_end, ':', t);
			add_text(b, n, b->prov, "time", t);
		}
	}
	for (i = 0; i < p->n_acts; i++) {
		prov_activity *a = &p->acts[i];
		long n_in = 0, n_out = 0;
		for (j = 0; j < p->n_rels; j++)
			if (!strcmp(p->rels[j].stage, a->stage)) {
				if (p->rels[j].is_output)
					n_out++;
				else
					n_in++;
			}
		if (n_in * n_out > MAX_DERIVATIONS_PER_STAGE) {
			ctw_log(b->ctx, CTW_LOG_INFO, "provenance",
				"stage '%s': %ld outputs x %ld inputs, derivations left out", a->stage, n_out, n_in);
			continue;
		}
		for (j = 0; j < p->n_rels; j++) {
			if (!p->rels[j].is_output || strcmp(p->rels[j].stage, a->stage))
				continue;
			for (k = 0; k < p->n_rels; k++) {
				xmlNodePtr n;
				if (p->rels[k].is_output || strcmp(p->rels[k].stage, a->stage) ||
				    p->rels[k].entity == p->rels[j].entity)
					continue;
				n = add_relation(b, "wasDerivedFrom", "generatedEntity", p->ents[p->rels[j].entity].id,
						 "usedEntity", p->ents[p->rels[k].entity].id);
				if (n)
					set_qname(b, add_node(b, n, "activity"), "ref", a->id);
			}
		}
	}
}

/* Assigns the ids: the agent, then the activities (from the stage names), then the entities
 * (from the labels), each a unique NCName. */
static int assign_ids(ctw_ctx *ctx, ctw_prov *p)
{
	id_set s = { NULL, 0, 0 };
	char *agent = ctw_strdup(ctx, AGENT_ID);
	int i, ret = CTW_ERR_NOMEM;

	for (i = 0; i < p->n_acts; i++) {
		ctw_free(ctx, p->acts[i].id);
		p->acts[i].id = NULL;
	}
	for (i = 0; i < p->n_ents; i++) {
		ctw_free(ctx, p->ents[i].id);
		p->ents[i].id = NULL;
	}
	if (!agent || grow(ctx, (void **)&s.v, &s.cap, 0, sizeof(*s.v)))
		goto out;
	s.v[s.n++] = agent;
	agent = NULL;
	for (i = 0; i < p->n_acts; i++)
		if (!(p->acts[i].id = id_unique(ctx, &s, p->acts[i].stage)))
			goto out;
	for (i = 0; i < p->n_ents; i++)
		if (!(p->ents[i].id = id_unique(ctx, &s, p->ents[i].label)))
			goto out;
	ret = CTW_OK;
out:
	ctw_free(ctx, agent);
	if (s.v)
		ctw_free(ctx, s.v[0]); /* the agent's; the others belong to p */
	ctw_free(ctx, s.v);
	return ret;
}

int ctw_prov_write(ctw_ctx *ctx, ctw_prov *p, const char *path)
{
	builder b;
	xmlChar *mem = NULL;
	FILE *f = NULL;
	int size = 0, ret;

	memset(&b, 0, sizeof(b));
	b.ctx = ctx;
	if ((ret = assign_ids(ctx, p)))
		return ret;
	ret = CTW_ERR_NOMEM;
	b.doc = xmlNewDoc(BAD_CAST "1.0");
	if (!b.doc || !(b.root = xmlNewDocNode(b.doc, NULL, BAD_CAST "document", NULL)))
		goto out;
	xmlDocSetRootElement(b.doc, b.root);
	b.prov = xmlNewNs(b.root, BAD_CAST NS_PROV, BAD_CAST "prov");
	if (!b.prov || !xmlNewNs(b.root, BAD_CAST NS_XSD, BAD_CAST "xsd") ||
	    !xmlNewNs(b.root, BAD_CAST NS_XSI, BAD_CAST "xsi") ||
	    !(b.ctw = xmlNewNs(b.root, BAD_CAST NS_CTW, BAD_CAST "ctw")) ||
	    !(b.param = xmlNewNs(b.root, BAD_CAST NS_PARAM, BAD_CAST "param")) ||
	    !(b.lib = xmlNewNs(b.root, BAD_CAST NS_LIB, BAD_CAST "lib")) ||
	    !xmlNewNs(b.root, BAD_CAST p->ns_run, BAD_CAST "run"))
		goto out;
	xmlSetNs(b.root, b.prov);
	build(&b, p);
	if (b.failed)
		goto out;
	xmlDocDumpFormatMemoryEnc(b.doc, &mem, &size, "UTF-8", 1);
	if (!mem || size <= 0)
		goto out;
	f = fopen(path, "wb");
	if (!f) {
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot open for writing: %s", strerror(errno));
		goto out;
	}
	if (fwrite(mem, 1, (size_t)size, f) != (size_t)size) {
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot write: %s", strerror(errno));
		goto out;
	}
	ret = CTW_OK;
out:
	if (f && fclose(f) && ret == CTW_OK)
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot write: %s", strerror(errno));
	if (ret == CTW_ERR_NOMEM)
		ret = ctw_error(ctx, CTW_ERR_NOMEM, "provenance", "out of memory building the document");
	xmlFree(mem);
	xmlFreeDoc(b.doc);
	ctw_free(ctx, b.qbuf);
	return ret;
}

/* ---- schema ------------------------------------------------------------------------------------ */

const char *ctw_prov_schema_path(void)
{
	const char *e = getenv("CTW_PROV_XSD");

	if (e && *e)
		return e;
#ifdef CTW_PROV_XSD_DEFAULT
	return CTW_PROV_XSD_DEFAULT;
#else
	return "prov.xsd";
#endif
}

typedef struct first_error {
	int set, line;
	char file[1024], msg[1024];
} first_error;

#if LIBXML_VERSION >= 21200
static void on_xml_error(void *ud, const xmlError *e)
#else
static void on_xml_error(void *ud, xmlErrorPtr e)
#endif
{
	first_error *fe = ud;
	size_t n;

	if (!e || fe->set || e->level < XML_ERR_ERROR)
		return;
	fe->set = 1;
	fe->line = e->line;
	snprintf(fe->file, sizeof(fe->file), "%s", e->file ? e->file : "");
	snprintf(fe->msg, sizeof(fe->msg), "%s", e->message ? e->message : "error");
	n = strlen(fe->msg);
	while (n > 0 && (fe->msg[n - 1] == '\n' || fe->msg[n - 1] == ' '))
		fe->msg[--n] = '\0';
}

/* CTW_ERR_FORMAT "<file>:<line>: <problem>" (no line when libxml2 gives none). */
static int report(ctw_ctx *ctx, const char *file, const first_error *fe, const char *fallback)
{
	const char *msg = fe->set ? fe->msg : fallback;

	if (fe->set && fe->line > 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, NULL, "%s:%d: %s", file, fe->line, msg);
	return ctw_error(ctx, CTW_ERR_FORMAT, NULL, "%s: %s", file, msg);
}

static int check_readable(ctw_ctx *ctx, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot read: %s", strerror(errno));
	fclose(f);
	return CTW_OK;
}

/* Loads the OASIS catalog next to the XSD into libxml2's default catalog, once per path, so
 * imports of W3C URLs (prov-core.xsd imports http://www.w3.org/2001/xml.xsd) resolve to local
 * files. */
static void load_catalog_near(const char *xsd_path)
{
	static char loaded[4096];
	char cat[4096];
	const char *slash = strrchr(xsd_path, '/');
	struct stat st;

	if (slash)
		snprintf(cat, sizeof(cat), "%.*s/catalog.xml", (int)(slash - xsd_path), xsd_path);
	else
		snprintf(cat, sizeof(cat), "catalog.xml");
	if (!strcmp(cat, loaded) || stat(cat, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	if (xmlLoadCatalog(cat) == 0)
		snprintf(loaded, sizeof(loaded), "%s", cat);
}

int ctw_xml_validate(ctw_ctx *ctx, const char *xml_path, const char *xsd_path)
{
	xmlExternalEntityLoader old_loader = xmlGetExternalEntityLoader();
	xmlStructuredErrorFunc old_serror = xmlStructuredError;
	void *old_serror_ctx = xmlStructuredErrorContext;
	xmlSchemaParserCtxtPtr pctxt = NULL;
	xmlSchemaValidCtxtPtr vctxt = NULL;
	xmlSchemaPtr schema = NULL;
	xmlDocPtr doc = NULL;
	first_error fe;
	int ret, rc;

	if ((ret = check_readable(ctx, xsd_path)) || (ret = check_readable(ctx, xml_path)))
		return ret;
	memset(&fe, 0, sizeof(fe));
	load_catalog_near(xsd_path);
	/* Nothing is fetched from the network: the no-net loader consults the catalogs and
	 * refuses http:// and ftp:// (global libxml2 state, restored below; not thread-safe). */
	xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
	xmlSetStructuredErrorFunc(&fe, on_xml_error);

	pctxt = xmlSchemaNewParserCtxt(xsd_path);
	if (!pctxt) {
		ret = ctw_error(ctx, CTW_ERR_NOMEM, xsd_path, "out of memory");
		goto out;
	}
	xmlSchemaSetParserStructuredErrors(pctxt, on_xml_error, &fe);
	schema = xmlSchemaParse(pctxt);
	if (!schema) {
		ret = report(ctx, fe.set && fe.file[0] ? fe.file : xsd_path, &fe, "cannot load the schema");
		goto out;
	}
	if (fe.set) /* an import failed but the schema still loaded: report it */
		ctw_log(ctx, CTW_LOG_WARN, xsd_path, "%s:%d: %s", fe.file, fe.line, fe.msg);
	memset(&fe, 0, sizeof(fe));

	doc = xmlReadFile(xml_path, NULL, XML_PARSE_NONET | XML_PARSE_BIG_LINES);
	if (!doc) {
		ret = report(ctx, xml_path, &fe, "not well-formed XML");
		goto out;
	}
	vctxt = xmlSchemaNewValidCtxt(schema);
	if (!vctxt) {
		ret = ctw_error(ctx, CTW_ERR_NOMEM, xml_path, "out of memory");
		goto out;
	}
	xmlSchemaSetValidStructuredErrors(vctxt, on_xml_error, &fe);
	rc = xmlSchemaValidateDoc(vctxt, doc);
	if (rc > 0 || (rc == 0 && fe.set))
		ret = report(ctx, xml_path, &fe, "not valid");
	else if (rc < 0)
		ret = ctw_error(ctx, CTW_ERR_EXTERNAL, xml_path, "libxml2 could not validate (internal error %d)", rc);
	else
		ret = CTW_OK;
out:
	xmlSchemaFreeValidCtxt(vctxt);
	xmlFreeDoc(doc);
	xmlSchemaFree(schema);
	xmlSchemaFreeParserCtxt(pctxt);
	xmlSetStructuredErrorFunc(old_serror_ctx, old_serror);
	xmlSetExternalEntityLoader(old_loader);
	return ret;
}
