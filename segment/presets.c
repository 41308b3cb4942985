/* presets.c: label presets, the tables that map the label values of public datasets and tools
 * (MM-WHS, ACDC, M&Ms, UK Biobank, MSD, TotalSegmentator, CemrgApp, DeepCAC, an nnU-Net
 * dataset.json) to the canonical vocabulary of ctw.h (specs/segmentation.md §1); custom
 * "from=to" maps; the automatic choice between MM-WHS, ACDC and M&Ms; and the in-place remap. */
#define _POSIX_C_SOURCE 200809L
#include "segment.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define N_VALUES 65536                  /* label values 0..65535 are tabulated              */
#define JSON_MAX_BYTES ((size_t)1 << 20) /* a dataset.json larger than this is refused       */
#define JSON_MAX_DEPTH 64               /* arrays and objects nested deeper are refused     */
#define LIST_MAX 600                    /* bytes of value lists in messages                 */
#define LIST_TAIL 64                    /* bytes kept for " and N more values" at its end    */
#define ODD_MAX 16                      /* distinct non-tabulated values listed by name     */

/* ---- built-in presets (data) ---------------------------------------------------------------- */

typedef struct pair {
	int from, to;
} pair;

typedef struct builtin {
	const char *name;
	const pair *map;
	int n;
} builtin;

/* MM-WHS 2017 (CT and MRI): 421 is a labelling error in some files, meaning LA. */
static const pair map_mmwhs[] = {
	{ 205, CTW_LBL_LV_MYO },   { 420, CTW_LBL_LA_BLOOD }, { 421, CTW_LBL_LA_BLOOD },
	{ 500, CTW_LBL_LV_BLOOD }, { 550, CTW_LBL_RA_BLOOD }, { 600, CTW_LBL_RV_BLOOD },
	{ 820, CTW_LBL_AORTA },    { 850, CTW_LBL_PA },
};

/* ACDC 2017: 1 RV cavity, 2 LV myocardium, 3 LV cavity. */
static const pair map_acdc[] = {
	{ 1, CTW_LBL_RV_BLOOD }, { 2, CTW_LBL_LV_MYO }, { 3, CTW_LBL_LV_BLOOD },
};

/* M&Ms-1/2, CMRxMotion, UK Biobank short axis (ukbb_cardiac seg_sa): 1 LV, 2 Myo, 3 RV. */
static const pair map_lv_myo_rv[] = {
	{ 1, CTW_LBL_LV_BLOOD }, { 2, CTW_LBL_LV_MYO }, { 3, CTW_LBL_RV_BLOOD },
};

/* ukbb_cardiac seg4_la_4ch: 1 LV, 2 Myo, 3 RV, 4 LA, 5 RA. */
static const pair map_ukbb_lax4ch[] = {
	{ 1, CTW_LBL_LV_BLOOD }, { 2, CTW_LBL_LV_MYO },   { 3, CTW_LBL_RV_BLOOD },
	{ 4, CTW_LBL_LA_BLOOD }, { 5, CTW_LBL_RA_BLOOD },
};

/* Medical Segmentation Decathlon Task02_Heart: 1 left atrium. */
static const pair map_msd_task02[] = {
	{ 1, CTW_LBL_LA_BLOOD },
};

/* TotalSegmentator v1 "total": the whole aorta (7) and the inferior vena cava (8) too. */
static const pair map_totalseg_v1[] = {
	{ 44, CTW_LBL_LV_MYO },   { 45, CTW_LBL_LA_BLOOD },    { 46, CTW_LBL_LV_BLOOD },
	{ 47, CTW_LBL_RA_BLOOD }, { 48, CTW_LBL_RV_BLOOD },    { 49, CTW_LBL_PA },
	{ 7, CTW_LBL_AORTA_WHOLE }, { 8, CTW_LBL_IVC },
};

/* TotalSegmentator v2 "heartchambers_highres" (--ml). */
static const pair map_totalseg_heartchambers[] = {
	{ 1, CTW_LBL_LV_MYO },   { 2, CTW_LBL_LA_BLOOD }, { 3, CTW_LBL_LV_BLOOD },
	{ 4, CTW_LBL_RA_BLOOD }, { 5, CTW_LBL_RV_BLOOD }, { 6, CTW_LBL_AORTA },
	{ 7, CTW_LBL_PA },
};

/* CemrgApp four-chamber segmentation (scripts_cemrg_4ch): identity, except 101 (LV neck, the
 * outflow-tract myocardium), which is LV myocardium here. */
static const pair map_cemrg4ch[] = {
	{ 1, 1 },     { 2, 2 },     { 3, 3 },     { 4, 4 },     { 5, 5 },     { 6, 6 },
	{ 7, 7 },     { 8, 8 },     { 9, 9 },     { 10, 10 },   { 11, 11 },   { 12, 12 },
	{ 13, 13 },   { 14, 14 },   { 101, CTW_LBL_LV_MYO },    { 103, 103 }, { 104, 104 },
	{ 105, 105 }, { 106, 106 }, { 107, 107 }, { 201, 201 }, { 202, 202 }, { 203, 203 },
	{ 204, 204 },
};

/* DeepCAC: 1 heart, 2 bone (dropped), 3 coronary calcium (inside the heart). */
static const pair map_deepcac[] = {
	{ 1, CTW_LBL_HEART }, { 2, 0 }, { 3, CTW_LBL_HEART },
};

#define BUILTIN(name, map) { name, map, (int)(sizeof(map) / sizeof(map[0])) }

static const builtin builtins[] = {
	BUILTIN("mmwhs", map_mmwhs),
	BUILTIN("acdc", map_acdc),
	BUILTIN("mnms", map_lv_myo_rv),
	BUILTIN("ukbb-sax", map_lv_myo_rv),
	BUILTIN("ukbb-lax4ch", map_ukbb_lax4ch),
	BUILTIN("msd-task02", map_msd_task02),
	BUILTIN("totalseg-v1", map_totalseg_v1),
	BUILTIN("totalseg-heartchambers", map_totalseg_heartchambers),
	BUILTIN("cemrg4ch", map_cemrg4ch),
	BUILTIN("deepcac", map_deepcac),
};

#define N_BUILTINS ((int)(sizeof(builtins) / sizeof(builtins[0])))

/* The built-ins above, then the two computed ones. */
static const char *const preset_names[] = {
	"mmwhs", "acdc", "mnms", "ukbb-sax", "ukbb-lax4ch", "msd-task02", "totalseg-v1",
	"totalseg-heartchambers", "cemrg4ch", "deepcac", "canonical", "nnunet", NULL
};

const char *const *ctw_preset_names(void)
{
	return preset_names;
}

/* Appends "from=to" to p, refusing a second entry for the same from-value; 0 or -1 (duplicate)
 * or -2 (full). */
static int preset_add(ctw_preset *p, int from, int to)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (p->map[i].from == from)
			return -1;
	if (p->n >= CTW_PRESET_MAX)
		return -2;
	p->map[p->n].from = from;
	p->map[p->n].to = to;
	p->n++;
	return 0;
}

static void preset_init(ctw_preset *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
}

/* ---- a small strict JSON reader (RFC 8259), enough for dataset.json -------------------------- */

enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jnode {
	int type;
	int key;   /* member name: offset in the string pool, -1 outside objects   */
	int str;   /* J_STR: offset of the value in the string pool                */
	int first; /* J_ARR, J_OBJ: first child, -1 when empty                     */
	int next;  /* next sibling, -1 for the last                                */
	double num;
} jnode;

typedef struct json {
	ctw_ctx *ctx;
	const char *path; /* for messages                                         */
	const char *s;
	size_t len, pos;
	int line;
	size_t line_start;
	jnode *nodes; /* indices, never pointers: the array moves as it grows    */
	int n, cap;
	char *pool; /* decoded strings, NUL-terminated; never longer than the input */
	size_t pool_len;
} json;

static int jerr(json *j, const char *what)
{
	return ctw_error(j->ctx, CTW_ERR_FORMAT, j->path, "malformed JSON at line %d, column %d: %s",
			 j->line, (int)(j->pos - j->line_start) + 1, what);
}

static void jskip_ws(json *j)
{
	while (j->pos < j->len) {
		char c = j->s[j->pos];
		if (c == '\n') {
			j->line++;
			j->line_start = j->pos + 1;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			break;
		}
		j->pos++;
	}
}

static int jnew(json *j, int type, int *out)
{
	jnode *nd;

	if (j->n == j->cap) {
		int ncap = j->cap ? 2 * j->cap : 64;
		jnode *nn = ctw_realloc(j->ctx, j->nodes, (size_t)ncap * sizeof(*nn));
		if (!nn)
			return CTW_ERR_NOMEM;
		j->nodes = nn;
		j->cap = ncap;
	}
	nd = &j->nodes[j->n];
	nd->type = type;
	nd->key = nd->str = nd->first = nd->next = -1;
	nd->num = 0.0;
	*out = j->n++;
	return CTW_OK;
}

static int jhex4(json *j, unsigned *cp)
{
	unsigned v = 0;
	int i;

	if (j->len - j->pos < 4)
		return jerr(j, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		char c = j->s[j->pos + i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return jerr(j, "bad hex digit in a \\u escape");
	}
	j->pos += 4;
	*cp = v;
	return CTW_OK;
}

/* A string at j->pos (the opening quote), decoded into the pool; *off gets its offset. Escapes
 * \uXXXX outside ASCII (and \u0000) become '?'; raw UTF-8 bytes are kept. */
static int jstring(json *j, int *off)
{
	size_t start = j->pool_len;
	int ret;

	j->pos++;
	for (;;) {
		unsigned char c;
		char ch;
		if (j->pos >= j->len)
			return jerr(j, "unterminated string");
		c = (unsigned char)j->s[j->pos];
		if (c == '"') {
			j->pos++;
			break;
		}
		if (c < 0x20)
			return jerr(j, "control character in a string");
		if (c != '\\') {
			j->pool[j->pool_len++] = (char)c;
			j->pos++;
			continue;
		}
		if (++j->pos >= j->len)
			return jerr(j, "unterminated string");
		switch (j->s[j->pos++]) {
		case '"':
			ch = '"';
			break;
		case '\\':
			ch = '\\';
			break;
		case '/':
			ch = '/';
			break;
		case 'b':
			ch = '\b';
			break;
		case 'f':
			ch = '\f';
			break;
		case 'n':
			ch = '\n';
			break;
		case 'r':
			ch = '\r';
			break;
		case 't':
			ch = '\t';
			break;
		case 'u': {
			unsigned cp, lo;
			if ((ret = jhex4(j, &cp)))
				return ret;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return jerr(j, "lone low surrogate in a \\u escape");
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (j->len - j->pos < 2 || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u')
					return jerr(j, "high surrogate without its low surrogate");
				j->pos += 2;
				if ((ret = jhex4(j, &lo)))
					return ret;
				if (lo < 0xDC00 || lo > 0xDFFF)
					return jerr(j, "high surrogate without its low surrogate");
			}
			ch = cp > 0 && cp < 0x80 ? (char)cp : '?';
			break;
		}
		default:
			j->pos--;
			return jerr(j, "bad escape in a string");
		}
		j->pool[j->pool_len++] = ch;
	}
	j->pool[j->pool_len++] = '\0';
	*off = (int)start;
	return CTW_OK;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int jnumber(json *j, double *out)
{
	size_t start = j->pos;
	char buf[64];

	if (j->pos < j->len && j->s[j->pos] == '-')
		j->pos++;
	if (j->pos < j->len && j->s[j->pos] == '0') {
		j->pos++;
	} else if (j->pos < j->len && is_digit(j->s[j->pos])) {
		while (j->pos < j->len && is_digit(j->s[j->pos]))
			j->pos++;
	} else {
		return jerr(j, "bad number");
	}
	if (j->pos < j->len && j->s[j->pos] == '.') {
		j->pos++;
		if (j->pos >= j->len || !is_digit(j->s[j->pos]))
			return jerr(j, "bad number: no digit after '.'");
		while (j->pos < j->len && is_digit(j->s[j->pos]))
			j->pos++;
	}
	if (j->pos < j->len && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
		j->pos++;
		if (j->pos < j->len && (j->s[j->pos] == '+' || j->s[j->pos] == '-'))
			j->pos++;
		if (j->pos >= j->len || !is_digit(j->s[j->pos]))
			return jerr(j, "bad number: no digit in the exponent");
		while (j->pos < j->len && is_digit(j->s[j->pos]))
			j->pos++;
	}
	if (j->pos - start >= sizeof(buf)) {
		j->pos = start;
		return jerr(j, "number longer than 63 characters");
	}
	memcpy(buf, j->s + start, j->pos - start);
	buf[j->pos - start] = '\0';
	*out = strtod(buf, NULL);
	return CTW_OK;
}

static int jvalue(json *j, int depth, int *out);

/* An array or an object at j->pos (its opening bracket). */
static int jcontainer(json *j, int depth, int *out)
{
	int obj = j->s[j->pos] == '{';
	char close = obj ? '}' : ']';
	int self, last = -1, ret;

	if (depth >= JSON_MAX_DEPTH)
		return jerr(j, "nested deeper than 64 levels");
	if ((ret = jnew(j, obj ? J_OBJ : J_ARR, &self)))
		return ret;
	j->pos++;
	jskip_ws(j);
	if (j->pos < j->len && j->s[j->pos] == close) {
		j->pos++;
		*out = self;
		return CTW_OK;
	}
	for (;;) {
		int key = -1, child;
		jskip_ws(j);
		if (obj) {
			if (j->pos >= j->len || j->s[j->pos] != '"')
				return jerr(j, "expected a member name in double quotes");
			if ((ret = jstring(j, &key)))
				return ret;
			jskip_ws(j);
			if (j->pos >= j->len || j->s[j->pos] != ':')
				return jerr(j, "expected ':' after a member name");
			j->pos++;
		}
		if ((ret = jvalue(j, depth + 1, &child)))
			return ret;
		j->nodes[child].key = key;
		if (last < 0)
			j->nodes[self].first = child;
		else
			j->nodes[last].next = child;
		last = child;
		jskip_ws(j);
		if (j->pos < j->len && j->s[j->pos] == ',') {
			j->pos++;
			continue;
		}
		if (j->pos < j->len && j->s[j->pos] == close) {
			j->pos++;
			break;
		}
		return jerr(j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
	*out = self;
	return CTW_OK;
}

static int jvalue(json *j, int depth, int *out)
{
	static const struct {
		const char *word;
		int type;
	} words[] = { { "true", J_TRUE }, { "false", J_FALSE }, { "null", J_NULL } };
	size_t i;
	int ret;
	char c;

	jskip_ws(j);
	if (j->pos >= j->len)
		return jerr(j, "unexpected end of file");
	c = j->s[j->pos];
	if (c == '{' || c == '[')
		return jcontainer(j, depth, out);
	if (c == '"') {
		int off;
		if ((ret = jstring(j, &off)) || (ret = jnew(j, J_STR, out)))
			return ret;
		j->nodes[*out].str = off;
		return CTW_OK;
	}
	if (c == '-' || is_digit(c)) {
		double v = 0.0;
		if ((ret = jnumber(j, &v)) || (ret = jnew(j, J_NUM, out)))
			return ret;
		j->nodes[*out].num = v;
		return CTW_OK;
	}
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i].word);
		if (j->len - j->pos >= n && memcmp(j->s + j->pos, words[i].word, n) == 0) {
			j->pos += n;
			return jnew(j, words[i].type, out);
		}
	}
	return jerr(j, "unexpected character");
}

/* Parses s[0..len) into j (root node 0). The caller frees j->nodes and j->pool. */
static int json_parse(ctw_ctx *ctx, const char *path, const char *s, size_t len, json *j)
{
	int root, ret;

	memset(j, 0, sizeof(*j));
	j->ctx = ctx;
	j->path = path;
	j->s = s;
	j->len = len;
	j->line = 1;
	j->pool = ctw_malloc(ctx, len + 1);
	if (!j->pool)
		return CTW_ERR_NOMEM;
	if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 byte order mark */
		j->pos = 3;
	if ((ret = jvalue(j, 0, &root)))
		return ret;
	jskip_ws(j);
	if (j->pos != j->len)
		return jerr(j, "unexpected text after the JSON value");
	return CTW_OK;
}

/* The member `name` of object node obj, -1 when absent. */
static int json_member(const json *j, int obj, const char *name)
{
	int c;

	for (c = j->nodes[obj].first; c >= 0; c = j->nodes[c].next)
		if (strcmp(j->pool + j->nodes[c].key, name) == 0)
			return c;
	return -1;
}

/* ---- nnU-Net dataset.json -------------------------------------------------------------------- */

/* Structure names of nnU-Net datasets and their canonical values; compared case-insensitively
 * ignoring spaces, underscores and hyphens. The canonical names of ctw.h match as well. */
static const struct {
	const char *name;
	int to;
} synonyms[] = {
	{ "background", 0 },
	{ "lv", CTW_LBL_LV_BLOOD },
	{ "lvc", CTW_LBL_LV_BLOOD },
	{ "lvbp", CTW_LBL_LV_BLOOD },
	{ "lv_cavity", CTW_LBL_LV_BLOOD },
	{ "left ventricle", CTW_LBL_LV_BLOOD },
	{ "lv blood pool", CTW_LBL_LV_BLOOD },
	{ "heart_ventricle_left", CTW_LBL_LV_BLOOD },
	{ "myo", CTW_LBL_LV_MYO },
	{ "mlv", CTW_LBL_LV_MYO },
	{ "lvm", CTW_LBL_LV_MYO },
	{ "myocardium", CTW_LBL_LV_MYO },
	{ "lv myocardium", CTW_LBL_LV_MYO },
	{ "heart_myocardium", CTW_LBL_LV_MYO },
	{ "left ventricular myocardium", CTW_LBL_LV_MYO },
	{ "rv", CTW_LBL_RV_BLOOD },
	{ "rvc", CTW_LBL_RV_BLOOD },
	{ "rvbp", CTW_LBL_RV_BLOOD },
	{ "right ventricle", CTW_LBL_RV_BLOOD },
	{ "heart_ventricle_right", CTW_LBL_RV_BLOOD },
	{ "la", CTW_LBL_LA_BLOOD },
	{ "left atrium", CTW_LBL_LA_BLOOD },
	{ "heart_atrium_left", CTW_LBL_LA_BLOOD },
	{ "ra", CTW_LBL_RA_BLOOD },
	{ "right atrium", CTW_LBL_RA_BLOOD },
	{ "heart_atrium_right", CTW_LBL_RA_BLOOD },
	{ "ao", CTW_LBL_AORTA },
	{ "aorta", CTW_LBL_AORTA },
	{ "pa", CTW_LBL_PA },
	{ "pulmonary artery", CTW_LBL_PA },
	{ "rvm", CTW_LBL_RV_MYO },
	{ "rv myocardium", CTW_LBL_RV_MYO },
	{ "right ventricular myocardium", CTW_LBL_RV_MYO },
	{ "heart", CTW_LBL_HEART },
};

/* Lower-cases s without spaces, underscores and hyphens into out; 0, or -1 when too long. */
static int name_norm(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s; s++) {
		char c = *s;
		if (c == ' ' || c == '_' || c == '-')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (n + 1 >= cap)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/* The canonical value a structure name stands for, -1 when none. */
static int name_to_label(const char *name)
{
	char want[64], have[64];
	const ctw_label *canon;
	size_t i;
	int n_canon, k;

	if (name_norm(name, want, sizeof(want)) || !want[0])
		return -1;
	for (i = 0; i < sizeof(synonyms) / sizeof(synonyms[0]); i++)
		if (!name_norm(synonyms[i].name, have, sizeof(have)) && !strcmp(want, have))
			return synonyms[i].to;
	canon = ctw_canonical_labels(&n_canon);
	for (k = 0; k < n_canon; k++)
		if (!name_norm(canon[k].name, have, sizeof(have)) && !strcmp(want, have))
			return canon[k].value;
	return -1;
}

/* A label value: a JSON number holding an integer in 0..65535, else -1. */
static int json_label_value(double v)
{
	if (!(v >= 0.0 && v < N_VALUES) || v != floor(v))
		return -1;
	return (int)v;
}

/* A label value written as a string of digits ("12"), else -1. */
static int string_label_value(const char *s)
{
	long v = 0;
	int nd = 0;

	for (; *s; s++) {
		if (!is_digit(*s) || ++nd > 5)
			return -1;
		v = 10 * v + (*s - '0');
	}
	return nd && v < N_VALUES ? (int)v : -1;
}

/* Reads a whole file of at most JSON_MAX_BYTES into a new NUL-terminated buffer. */
static int read_small_file(ctw_ctx *ctx, const char *path, char **out, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	size_t got;
	int ret = CTW_OK;

	*out = NULL;
	*len = 0;
	if (!fp)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "cannot open the nnU-Net dataset description: %s",
				 strerror(errno));
	buf = ctw_malloc(ctx, JSON_MAX_BYTES + 2);
	if (!buf) {
		fclose(fp);
		return CTW_ERR_NOMEM;
	}
	got = fread(buf, 1, JSON_MAX_BYTES + 1, fp);
	if (ferror(fp))
		ret = ctw_error(ctx, CTW_ERR_IO, path, "cannot read: %s", strerror(errno));
	else if (got > JSON_MAX_BYTES)
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "larger than 1 MiB; not a dataset.json");
	fclose(fp);
	if (ret) {
		ctw_free(ctx, buf);
		return ret;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return CTW_OK;
}

/* "<directory of labels_path>/dataset.json" (labels_path itself when it is a directory). */
static int dataset_json_path(ctw_ctx *ctx, const char *labels_path, char **out)
{
	const char *slash = strrchr(labels_path, '/');
	char *dir;
	int ret;

	if (ctw_is_dir(labels_path))
		return ctw_path_join(ctx, labels_path, "dataset.json", out);
	if (!slash)
		return ctw_path_join(ctx, ".", "dataset.json", out);
	if (slash == labels_path)
		return ctw_path_join(ctx, "/", "dataset.json", out);
	dir = ctw_malloc(ctx, (size_t)(slash - labels_path) + 1);
	if (!dir)
		return CTW_ERR_NOMEM;
	memcpy(dir, labels_path, (size_t)(slash - labels_path));
	dir[slash - labels_path] = '\0';
	ret = ctw_path_join(ctx, dir, "dataset.json", out);
	ctw_free(ctx, dir);
	return ret;
}

/* Fills *out from the "labels" of a parsed dataset.json, v2 {"name": int or [int, ...]} or
 * v1/MSD {"int": "name"}; label 0 (background) is skipped. */
static int nnunet_labels(ctw_ctx *ctx, const json *j, const char *path, ctw_preset *out)
{
	int labels, c, ret;

	if (j->nodes[0].type != J_OBJ)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "not a JSON object; not a dataset.json");
	labels = json_member(j, 0, "labels");
	if (labels < 0 || j->nodes[labels].type != J_OBJ)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "no \"labels\" object; not an nnU-Net dataset.json");
	preset_init(out, "nnunet");
	for (c = j->nodes[labels].first; c >= 0; c = j->nodes[c].next) {
		const jnode *v = &j->nodes[c];
		const char *key = j->pool + v->key, *name;
		int value, to;

		if (v->type == J_STR) { /* v1 / MSD: "1": "left atrium" */
			value = string_label_value(key);
			name = j->pool + v->str;
			if (value < 0)
				return ctw_error(ctx, CTW_ERR_FORMAT, path,
						 "label key '%s' is not an integer in 0..65535", key);
		} else { /* v2: "LVBP": 1, or a region "LV": [1, 2] whose first value counts */
			const jnode *num = v;
			if (v->type == J_ARR)
				num = v->first >= 0 ? &j->nodes[v->first] : NULL;
			if (!num || num->type != J_NUM)
				return ctw_error(ctx, CTW_ERR_FORMAT, path,
						 "label '%s' has no integer value (nor a list of them, nor a name)",
						 key);
			value = json_label_value(num->num);
			name = key;
			if (value < 0)
				return ctw_error(ctx, CTW_ERR_FORMAT, path,
						 "label '%s' has the value %g; not an integer in 0..65535", key,
						 num->num);
		}
		if (value == 0)
			continue; /* background, whatever its name */
		to = name_to_label(name);
		if (to < 0)
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "label name '%s' (value %d) matches no known structure; give a custom "
					 "label map instead",
					 name, value);
		ret = preset_add(out, value, to);
		if (ret == -1)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "label value %d is listed twice", value);
		if (ret == -2)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "more than %d labels", CTW_PRESET_MAX);
	}
	if (out->n == 0)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "\"labels\" lists no structure besides background");
	return CTW_OK;
}

static int nnunet_preset(ctw_ctx *ctx, const char *labels_path, ctw_preset *out)
{
	char *path = NULL, *text = NULL;
	size_t len;
	json j;
	int ret;

	memset(&j, 0, sizeof(j));
	if (!labels_path || !*labels_path)
		return ctw_error(ctx, CTW_ERR_INVALID, "preset",
				 "preset 'nnunet' needs the label map's path (dataset.json is read beside it)");
	if ((ret = dataset_json_path(ctx, labels_path, &path)))
		goto out;
	if ((ret = read_small_file(ctx, path, &text, &len)))
		goto out;
	if ((ret = json_parse(ctx, path, text, len, &j)))
		goto out;
	ret = nnunet_labels(ctx, &j, path, out);
out:
	ctw_free(ctx, j.nodes);
	ctw_free(ctx, j.pool);
	ctw_free(ctx, text);
	ctw_free(ctx, path);
	return ret;
}

/* ---- looking presets up ---------------------------------------------------------------------- */

int ctw_preset_get(ctw_ctx *ctx, const char *name, const char *labels_path, ctw_preset *out)
{
	ctw_preset p;
	char known[512];
	size_t off = 0;
	int i, ret;

	if (!name)
		return ctw_error(ctx, CTW_ERR_INVALID, "preset", "no preset name given");
	if (!strcmp(name, "nnunet")) {
		if ((ret = nnunet_preset(ctx, labels_path, &p)))
			return ret;
		*out = p;
		return CTW_OK;
	}
	if (!strcmp(name, "canonical")) {
		int n_canon;
		const ctw_label *canon = ctw_canonical_labels(&n_canon);
		preset_init(&p, name);
		for (i = 0; i < n_canon; i++)
			if (preset_add(&p, canon[i].value, canon[i].value))
				return ctw_error(ctx, CTW_ERR_INTERNAL, "preset",
						 "the canonical vocabulary does not fit a preset");
		*out = p;
		return CTW_OK;
	}
	for (i = 0; i < N_BUILTINS; i++) {
		int k;
		if (strcmp(name, builtins[i].name) != 0)
			continue;
		preset_init(&p, name);
		for (k = 0; k < builtins[i].n; k++)
			if (preset_add(&p, builtins[i].map[k].from, builtins[i].map[k].to))
				return ctw_error(ctx, CTW_ERR_INTERNAL, "preset", "built-in preset '%s' is broken",
						 name);
		*out = p;
		return CTW_OK;
	}
	known[0] = '\0';
	for (i = 0; preset_names[i]; i++) {
		int w = snprintf(known + off, sizeof(known) - off, "%s%s", i ? ", " : "", preset_names[i]);
		if (w < 0 || (size_t)w >= sizeof(known) - off)
			break;
		off += (size_t)w;
	}
	return ctw_error(ctx, CTW_ERR_INVALID, "preset", "unknown preset '%s' (known: %s)", name, known);
}

/* ---- custom maps ------------------------------------------------------------------------------- */

/* Reads an unsigned decimal integer (at most 9 digits) at *s, skipping blanks around it. */
static int parse_uint(const char **s, const char *end, long *v)
{
	const char *p = *s;
	int nd = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	*v = 0;
	while (p < end && is_digit(*p)) {
		if (++nd > 9)
			return -1;
		*v = 10 * *v + (*p - '0');
		p++;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	*s = p;
	return nd ? 0 : -1;
}

int ctw_preset_parse(ctw_ctx *ctx, const char *spec, ctw_preset *out)
{
	ctw_preset p;
	const char *s = spec;

	if (!spec || !*spec || strspn(spec, " \t") == strlen(spec))
		return ctw_error(ctx, CTW_ERR_INVALID, "preset", "empty label map; expected from=to pairs "
				 "such as '500=1,205=2'");
	preset_init(&p, "custom");
	for (;;) {
		const char *end = strchr(s, ','), *q = s;
		long from, to;
		int item_len, ret;

		if (!end)
			end = s + strlen(s);
		item_len = (int)(end - s);
		if (strspn(s, " \t") >= (size_t)item_len)
			return ctw_error(ctx, CTW_ERR_INVALID, "preset", "empty item in label map '%s'", spec);
		ret = parse_uint(&q, end, &from) || q >= end || *q != '=';
		if (!ret) {
			q++;
			ret = parse_uint(&q, end, &to) || q != end;
		}
		if (ret)
			return ctw_error(ctx, CTW_ERR_INVALID, "preset",
					 "bad item '%.*s' in label map '%s': expected from=to with two "
					 "non-negative integers",
					 item_len, s, spec);
		if (from >= N_VALUES)
			return ctw_error(ctx, CTW_ERR_INVALID, "preset",
					 "bad item '%.*s' in label map '%s': %ld is not a label value (0..65535)",
					 item_len, s, spec, from);
		if (to >= N_VALUES || !ctw_label_name((int)to))
			return ctw_error(ctx, CTW_ERR_INVALID, "preset",
					 "bad item '%.*s' in label map '%s': %ld is not a canonical label value",
					 item_len, s, spec, to);
		ret = preset_add(&p, (int)from, (int)to);
		if (ret == -1)
			return ctw_error(ctx, CTW_ERR_INVALID, "preset",
					 "bad item '%.*s' in label map '%s': value %ld is mapped twice", item_len,
					 s, spec, from);
		if (ret == -2)
			return ctw_error(ctx, CTW_ERR_INVALID, "preset",
					 "bad item '%.*s' in label map '%s': more than %d pairs", item_len, s,
					 spec, CTW_PRESET_MAX);
		if (!*end)
			break;
		s = end + 1;
	}
	*out = p;
	return CTW_OK;
}

/* ---- value histograms ------------------------------------------------------------------------- */

/* Voxel counts of the values 0..65535 in counts[]; other values (negative, fractional, larger,
 * NaN) in odd, the first ODD_MAX distinct ones by name and the rest as one count. */
typedef struct odd_values {
	int n;
	double value[ODD_MAX];
	int64_t count[ODD_MAX];
	int64_t rest;
} odd_values;

static void histogram(const ctw_volume *v, int64_t *counts, odd_values *odd)
{
	int64_t i, n = ctw_volume_count(v);

	memset(odd, 0, sizeof(*odd));
	for (i = 0; i < n; i++) {
		double x = ctw_volume_get(v, i);
		int k;
		if (x >= 0.0 && x < N_VALUES && x == floor(x)) {
			counts[(int)x]++;
			continue;
		}
		for (k = 0; k < odd->n; k++)
			if (odd->value[k] == x || (x != x && odd->value[k] != odd->value[k]))
				break;
		if (k < odd->n) {
			odd->count[k]++;
		} else if (odd->n < ODD_MAX) {
			odd->value[odd->n] = x;
			odd->count[odd->n++] = 1;
		} else {
			odd->rest++;
		}
	}
}

/* Appends "<value> (<n> voxels)" to a list in buf, or counts it as left out when full. */
static void list_add(char *buf, size_t cap, size_t *off, int *left_out, const char *value, int64_t count)
{
	char item[96];
	int w = snprintf(item, sizeof(item), "%s%s (%lld voxel%s)", *off ? ", " : "", value,
			 (long long)count, count == 1 ? "" : "s");

	if (*left_out || w < 0 || (size_t)w + LIST_TAIL >= cap - *off) {
		(*left_out)++;
		return;
	}
	memcpy(buf + *off, item, (size_t)w + 1);
	*off += (size_t)w;
}

static void list_finish(char *buf, size_t cap, size_t off, int left_out, int64_t rest)
{
	if (left_out)
		snprintf(buf + off, cap - off, " and %d more value%s", left_out, left_out == 1 ? "" : "s");
	off += strlen(buf + off);
	if (rest)
		snprintf(buf + off, cap - off, " and %lld voxels of other values", (long long)rest);
}

/* ---- the automatic choice --------------------------------------------------------------------- */

static const int mmwhs_values[] = { 205, 420, 421, 500, 550, 600, 820, 850 };

/* Voxel value at (i,j,k) as an integer (the volume holds only 0..3 when this is used). */
static int lab_at(const ctw_volume *v, int64_t i, int64_t j, int64_t k)
{
	return (int)ctw_volume_get(v, i + v->dim[0] * (j + v->dim[1] * k));
}

/* Over the 2D slices perpendicular to each axis a with use[a], the in-plane boundary voxels of
 * label lab (those with a 4-neighbour in the slice that is not lab, the volume's outside
 * included); *enclosed counts the ones whose non-lab neighbours all hold wall. Returns the
 * fraction, 0 when there is no boundary. */
static double enclosed_fraction(const ctw_volume *v, int lab, int wall, const int use[3])
{
	int64_t boundary = 0, enclosed = 0;
	int64_t p[3];

	for (p[2] = 0; p[2] < v->dim[2]; p[2]++)
		for (p[1] = 0; p[1] < v->dim[1]; p[1]++)
			for (p[0] = 0; p[0] < v->dim[0]; p[0]++) {
				int a;
				if (lab_at(v, p[0], p[1], p[2]) != lab)
					continue;
				for (a = 0; a < 3; a++) {
					int is_boundary = 0, all_wall = 1, b, s;
					if (!use[a])
						continue;
					for (b = 0; b < 3; b++) {
						if (b == a)
							continue;
						for (s = -1; s <= 1; s += 2) {
							int64_t q[3] = { p[0], p[1], p[2] };
							int w;
							q[b] += s;
							if (q[b] < 0 || q[b] >= v->dim[b]) {
								is_boundary = 1;
								all_wall = 0;
								continue;
							}
							w = lab_at(v, q[0], q[1], q[2]);
							if (w == lab)
								continue;
							is_boundary = 1;
							if (w != wall)
								all_wall = 0;
						}
					}
					boundary += is_boundary;
					enclosed += is_boundary && all_wall;
				}
			}
	return boundary ? (double)enclosed / (double)boundary : 0.0;
}

/* The slice axes to look at: an axis one voxel thick (a 2D map); else the axis whose spacing is
 * more than 1.5 times both others' (the slice axis of a short-axis stack); else all three. */
static void slice_axes(const ctw_volume *v, int use[3])
{
	int a, big = 0;

	for (a = 0; a < 3; a++)
		use[a] = 0;
	for (a = 0; a < 3; a++)
		if (v->dim[a] == 1) {
			use[a] = 1;
			return;
		}
	for (a = 1; a < 3; a++)
		if (v->spacing[a] > v->spacing[big])
			big = a;
	for (a = 0; a < 3; a++)
		if (a != big && !(v->spacing[big] > 1.5 * v->spacing[a]))
			break;
	if (a == 3) {
		use[big] = 1;
		return;
	}
	for (a = 0; a < 3; a++)
		use[a] = 1;
}

int ctw_preset_auto(ctw_ctx *ctx, const char *what, const ctw_volume *labels, ctw_preset *out)
{
	static const char *const axis_names[3] = { "i", "j", "k" };
	int64_t *counts;
	odd_values odd;
	char list[LIST_MAX];
	size_t off = 0;
	int left_out = 0, n_present = 0, n_mmwhs = 0, in_mmwhs = 1, in_sax = 1, in_canonical = 1, v, k, ret;
	int use[3];
	double f1, f3;
	const char *choice;

	if (!what)
		what = "labels";
	if (!ctw_dtype_size(labels->dtype))
		return ctw_error(ctx, CTW_ERR_INVALID, what, "unknown voxel type %d", (int)labels->dtype);
	counts = ctw_calloc(ctx, N_VALUES, sizeof(*counts));
	if (!counts)
		return CTW_ERR_NOMEM;
	histogram(labels, counts, &odd);
	list[0] = '\0';
	for (v = 1; v < N_VALUES; v++) {
		char name[16];
		int is_mmwhs = 0;
		if (!counts[v])
			continue;
		n_present++;
		for (k = 0; k < (int)(sizeof(mmwhs_values) / sizeof(mmwhs_values[0])); k++)
			is_mmwhs |= mmwhs_values[k] == v;
		n_mmwhs += is_mmwhs;
		in_mmwhs &= is_mmwhs;
		in_sax &= v <= 3;
		in_canonical &= ctw_label_name(v) != NULL;
		snprintf(name, sizeof(name), "%d", v);
		list_add(list, sizeof(list), &off, &left_out, name, counts[v]);
	}
	for (k = 0; k < odd.n; k++) {
		char name[32];
		snprintf(name, sizeof(name), "%g", odd.value[k]);
		list_add(list, sizeof(list), &off, &left_out, name, odd.count[k]);
	}
	list_finish(list, sizeof(list), off, left_out, odd.rest);
	if (odd.n) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, what,
				"label values %s include values that are not label values (0..65535); give "
				"--preset",
				list);
		goto out;
	}
	if (n_present == 0) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, what, "no labels (every voxel is 0); cannot choose a preset");
		goto out;
	}
	if (in_mmwhs && n_mmwhs >= 2) {
		ctw_log(ctx, CTW_LOG_INFO, what, "label values %s are MM-WHS values: preset 'mmwhs'", list);
		ret = ctw_preset_get(ctx, "mmwhs", NULL, out);
		goto out;
	}
	/* our own canonical maps: the output of contours (1 and 2 only) and of segment or phantom
	 * (with RV myocardium, 103) */
	if (in_canonical && in_sax && counts[1] && counts[2] && !counts[3]) {
		/* {1, 2} as contours writes it: the myocardium (2) surrounds the LV blood pool (1) in
		 * the slices (a whole-heart mask with another second label does not) */
		slice_axes(labels, use);
		f1 = enclosed_fraction(labels, 1, 2, use);
		if (f1 < 0.25) {
			ret = ctw_error(ctx, CTW_ERR_FORMAT, what,
					"label values %s: label 2 encloses only %.0f%% of label 1's in-plane boundary, so "
					"this is no LV blood pool in its myocardium; pass --preset NAME or --map FROM=TO,...",
					list, 100.0 * f1);
			goto out;
		}
	}
	if (in_canonical && ((in_sax && counts[1] && counts[2] && !counts[3]) || counts[CTW_LBL_RV_MYO])) {
		ctw_log(ctx, CTW_LOG_INFO, what, "label values %s are canonical (as written by cardiotwin contours, "
			"segment or phantom): preset 'canonical'", list);
		ret = ctw_preset_get(ctx, "canonical", NULL, out);
		goto out;
	}
	if (!(in_sax && n_present == 3)) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, what,
				"label values %s match no built-in preset; pass --preset NAME or --map "
				"FROM=TO,... (e.g. --map 1=3,2=2,3=1)",
				list);
		goto out;
	}
	/* {1, 2, 3}: ACDC (3 = LV cavity) or M&Ms/UK Biobank (1 = LV cavity). The LV cavity is the
	 * one the myocardium (2) surrounds in the slices; the RV touches it only at the septum. */
	slice_axes(labels, use);
	f1 = enclosed_fraction(labels, 1, 2, use);
	f3 = enclosed_fraction(labels, 3, 2, use);
	if (fabs(f1 - f3) < 0.1) {
		ret = ctw_error(ctx, CTW_ERR_FORMAT, what,
				"cannot tell ACDC from M&Ms (label 2 encloses %.0f%% of label 1's in-plane "
				"boundary and %.0f%% of label 3's); give --preset acdc or mnms",
				100.0 * f1, 100.0 * f3);
		goto out;
	}
	choice = f3 > f1 ? "acdc" : "mnms";
	ctw_log(ctx, CTW_LOG_INFO, what,
		"label values 1, 2, 3: label 2 encloses %.0f%% of label 3's in-plane boundary and %.0f%% "
		"of label 1's (slices across %s%s%s): label %d is the LV cavity, preset '%s'",
		100.0 * f3, 100.0 * f1, use[0] ? axis_names[0] : "", use[1] ? axis_names[1] : "",
		use[2] ? axis_names[2] : "", f3 > f1 ? 3 : 1, choice);
	ret = ctw_preset_get(ctx, choice, NULL, out);
out:
	ctw_free(ctx, counts);
	return ret;
}

/* ---- applying a preset ------------------------------------------------------------------------ */

int ctw_preset_apply(ctw_ctx *ctx, const ctw_preset *p, const char *what, ctw_volume *labels,
		     int64_t *changed)
{
	int32_t *lut = NULL;
	int64_t *counts = NULL, i, n, n_changed = 0;
	odd_values odd;
	char list[LIST_MAX];
	size_t off = 0;
	int left_out = 0, v, k, ret = CTW_OK;

	if (changed)
		*changed = 0;
	if (!what)
		what = "labels";
	if (!ctw_dtype_size(labels->dtype))
		return ctw_error(ctx, CTW_ERR_INVALID, what, "unknown voxel type %d", (int)labels->dtype);
	if (p->n < 0 || p->n > CTW_PRESET_MAX)
		return ctw_error(ctx, CTW_ERR_INVALID, "preset", "preset '%.31s' has %d entries", p->name, p->n);
	lut = ctw_malloc(ctx, N_VALUES * sizeof(*lut));
	counts = ctw_calloc(ctx, N_VALUES, sizeof(*counts));
	if (!lut || !counts) {
		ret = CTW_ERR_NOMEM;
		goto out;
	}
	for (v = 0; v < N_VALUES; v++)
		lut[v] = -1;
	for (k = 0; k < p->n; k++) {
		int from = p->map[k].from, to = p->map[k].to;
		if (from < 0 || from >= N_VALUES || to < 0 || !ctw_label_name(to)) {
			ret = ctw_error(ctx, CTW_ERR_INVALID, "preset",
					"preset '%.31s' maps %d to %d; expected a value in 0..65535 and a "
					"canonical value",
					p->name, from, to);
			goto out;
		}
		if (lut[from] >= 0) {
			ret = ctw_error(ctx, CTW_ERR_INVALID, "preset", "preset '%.31s' maps %d twice", p->name,
					from);
			goto out;
		}
		lut[from] = to;
	}
	if (lut[0] < 0)
		lut[0] = 0; /* background */

	/* pass 1: every value must be known */
	histogram(labels, counts, &odd);
	list[0] = '\0';
	for (v = 0; v < N_VALUES; v++) {
		char name[16];
		if (!counts[v] || lut[v] >= 0)
			continue;
		snprintf(name, sizeof(name), "%d", v);
		list_add(list, sizeof(list), &off, &left_out, name, counts[v]);
	}
	for (k = 0; k < odd.n; k++) {
		char name[32];
		snprintf(name, sizeof(name), "%g", odd.value[k]);
		list_add(list, sizeof(list), &off, &left_out, name, odd.count[k]);
	}
	if (off || left_out || odd.rest) {
		list_finish(list, sizeof(list), off, left_out, odd.rest);
		ret = ctw_error(ctx, CTW_ERR_FORMAT, what, "label values the preset '%.31s' does not know: %s",
				p->name, list);
		goto out;
	}

	/* pass 2: remap */
	n = ctw_volume_count(labels);
	for (i = 0; i < n; i++) {
		int x = (int)ctw_volume_get(labels, i);
		if (lut[x] != x) {
			ctw_volume_set(labels, i, lut[x]);
			n_changed++;
		}
	}
	if (changed)
		*changed = n_changed;
out:
	ctw_free(ctx, lut);
	ctw_free(ctx, counts);
	return ret;
}
