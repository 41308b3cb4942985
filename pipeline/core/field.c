/* field.c: ctw_field, a named per-point or per-cell array of double vectors on a mesh. */
#include "ctw.h"

#include <string.h>

int ctw_field_new(ctw_ctx *ctx, const char *name, ctw_field_loc loc, int n_comp, int64_t n,
		  ctw_field **out)
{
	ctw_field *f;

	*out = NULL;
	if (strlen(name) >= sizeof(f->name))
		return ctw_error(ctx, CTW_ERR_INVALID, "field", "name '%s' is longer than %zu bytes",
				 name, sizeof(f->name) - 1);
	if (n_comp < 1 || n_comp > 9 || n < 0)
		return ctw_error(ctx, CTW_ERR_INVALID, "field", "'%s': bad shape %lld x %d", name,
				 (long long)n, n_comp);
	f = ctw_calloc(ctx, 1, sizeof(*f));
	if (!f)
		return CTW_ERR_NOMEM;
	f->values = ctw_calloc(ctx, (size_t)n * (size_t)n_comp, sizeof(double));
	if (!f->values) {
		ctw_free(ctx, f);
		return CTW_ERR_NOMEM;
	}
	strcpy(f->name, name);
	f->loc = loc;
	f->n_comp = n_comp;
	f->n = n;
	*out = f;
	return CTW_OK;
}

void ctw_field_free(ctw_ctx *ctx, ctw_field *f)
{
	if (!f)
		return;
	ctw_free(ctx, f->values);
	ctw_free(ctx, f);
}
