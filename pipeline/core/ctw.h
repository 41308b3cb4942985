/* ctw.h: the data model and context every stage of cardiotwin uses (the bottom floor).
 *
 * Plain structs with flat arrays; units and frames are in the comments. World coordinates are
 * LPS millimetres (ITK's frame); NIfTI's RAS is converted only at the file boundary. Anything that
 * can fail returns a ctw_status and leaves a message on the context. All allocation goes through
 * ctw_malloc()/ctw_free(), so tests can make the Nth allocation fail.
 */
#ifndef CTW_H
#define CTW_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CTW_API __attribute__((visibility("default")))
#define CTW_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CTW_API
#define CTW_PRINTF(f, a)
#endif

#define CTW_VERSION "0.1.0"

/* ---- status codes ---------------------------------------------------------------------- */

typedef enum ctw_status {
	CTW_OK = 0,
	CTW_ERR_INVALID,   /* bad argument or option value (usage)          */
	CTW_ERR_IO,        /* a file cannot be opened, read or written      */
	CTW_ERR_FORMAT,    /* a file is readable but its content is wrong   */
	CTW_ERR_NOMEM,     /* an allocation failed                          */
	CTW_ERR_EXTERNAL,  /* a library (ITK, VTK, TetGen) failed           */
	CTW_ERR_CANCELLED, /* the progress callback asked to stop           */
	CTW_ERR_INTERNAL   /* a bug                                         */
} ctw_status;

/* Process exit code of DESIGN.md §4 for a status: 0 ok, 1 usage, 2 bad input, 3 processing
 * failed, 4 internal error. */
CTW_API int ctw_exit_code(ctw_status s);
CTW_API const char *ctw_status_name(ctw_status s);

/* ---- context: errors, log, progress/cancel, allocator ------------------------------------ */

typedef enum ctw_log_level {
	CTW_LOG_ERROR = 0,
	CTW_LOG_WARN,
	CTW_LOG_INFO,
	CTW_LOG_DEBUG
} ctw_log_level;

typedef void (*ctw_log_fn)(void *ud, ctw_log_level lvl, const char *domain, const char *msg);
/* Returns non-zero to cancel the running stage. */
typedef int (*ctw_progress_fn)(void *ud, const char *stage, double fraction);

/* A replaceable allocator (SQLite's xMalloc): realloc(NULL, n) must act as malloc(n). */
typedef struct ctw_allocator {
	void *(*xmalloc)(void *ud, size_t n);
	void *(*xrealloc)(void *ud, void *p, size_t n);
	void (*xfree)(void *ud, void *p);
	void *ud;
} ctw_allocator;

typedef struct ctw_ctx ctw_ctx;

/* Creates a context with the C library allocator, no log and no progress callback. Returns NULL
 * only if that first allocation fails. Free it with ctw_ctx_free(). */
CTW_API ctw_ctx *ctw_ctx_new(void);
/* Creates a context whose allocations (its own included) go through *a (copied). */
CTW_API ctw_ctx *ctw_ctx_new_with(const ctw_allocator *a);
/* A context for work on another thread: the C library allocator (the parent's need not be
 * thread-safe), the parent's log callback and level (which must then be thread-safe), its voxel
 * limit and salt; no progress callback, no error. NULL when out of memory. */
CTW_API ctw_ctx *ctw_ctx_new_worker(const ctw_ctx *parent);
CTW_API void ctw_ctx_free(ctw_ctx *ctx);

CTW_API void ctw_ctx_set_log(ctw_ctx *ctx, ctw_log_fn fn, void *ud, ctw_log_level max_level);
CTW_API void ctw_ctx_set_progress(ctw_ctx *ctx, ctw_progress_fn fn, void *ud);
/* The deadline in CLOCK_MONOTONIC seconds, 0 when none (for code that waits on children). */
CTW_API double ctw_ctx_deadline(const ctw_ctx *ctx);
/* Non-zero, with the error above set, once the deadline has passed; cheap enough for loops. */
CTW_API int ctw_ctx_past_deadline(ctw_ctx *ctx, const char *stage);
/* Largest number of voxels a reader accepts before allocating (default 2^31). */
CTW_API void ctw_ctx_set_max_voxels(ctw_ctx *ctx, int64_t n);
CTW_API int64_t ctw_ctx_max_voxels(const ctw_ctx *ctx);
/* A time limit for the work done with ctx from now (CLOCK_MONOTONIC): once it has passed,
 * ctw_progress() returns non-zero (cancel) and a CTW_ERR_CANCELLED error set on ctx reads
 * "<stage>: time limit of N s reached". 0 removes the limit. Worker contexts inherit it.
 * CTW_ERR_INVALID for a negative, NaN or absurd value. */
CTW_API int ctw_ctx_set_deadline(ctw_ctx *ctx, double seconds);
/* The secret salt of de-identifying hashes (per installation or per cohort; at most 64 bytes,
 * copied). Without one, hashes are unsalted. */
CTW_API void ctw_ctx_set_salt(ctw_ctx *ctx, const void *salt, size_t n);
CTW_API const unsigned char *ctw_ctx_salt(const ctw_ctx *ctx, size_t *n);

/* Sets the context's status and message ("<domain>: <message>", domain omitted when NULL) and
 * returns code, so `return ctw_error(ctx, CTW_ERR_IO, path, "cannot open");` reads naturally.
 * It only stores the message; the caller that gives up (main.c) reports it. */
CTW_API int ctw_error(ctw_ctx *ctx, ctw_status code, const char *domain, const char *fmt, ...)
	CTW_PRINTF(4, 5);
CTW_API int ctw_verror(ctw_ctx *ctx, ctw_status code, const char *domain, const char *fmt,
		       va_list ap);
CTW_API ctw_status ctw_errcode(const ctw_ctx *ctx);
/* The last error message, "" when none. Valid until the next ctw_error() or ctw_clear_error(). */
CTW_API const char *ctw_errmsg(const ctw_ctx *ctx);
CTW_API void ctw_clear_error(ctw_ctx *ctx);

CTW_API void ctw_log(ctw_ctx *ctx, ctw_log_level lvl, const char *domain, const char *fmt, ...)
	CTW_PRINTF(4, 5);

/* Warnings. Every CTW_LOG_WARN message is counted and the first CTW_MAX_KEPT_WARNINGS are kept
 * ("domain: message", cut at CTW_WARNING_LEN - 1 bytes) whatever the log level, so that `run`
 * puts the warnings of its stages into the package's report and --strict can refuse a doubtful
 * result. A worker context starts with none (its parent's flag only). */
#define CTW_MAX_KEPT_WARNINGS 32
#define CTW_WARNING_LEN 400
/* A warning about the input (domain: the input file): logged and kept like ctw_log(CTW_LOG_WARN)
 * and CTW_OK; in strict mode instead sets CTW_ERR_FORMAT with the message and returns it, so a
 * stage calls it before writing its outputs: `if ((ret = ctw_warn(ctx, path, ...))) goto out;`. */
CTW_API int ctw_warn(ctw_ctx *ctx, const char *domain, const char *fmt, ...) CTW_PRINTF(3, 4);
/* --strict: ctw_warn fails; main also exits 2 when a command ends with warnings counted. */
CTW_API void ctw_ctx_set_strict(ctw_ctx *ctx, int strict);
CTW_API int ctw_ctx_strict(const ctw_ctx *ctx);
/* The number of warnings counted so far, and the i-th kept one (NULL past the kept ones). */
CTW_API int ctw_ctx_n_warnings(const ctw_ctx *ctx);
CTW_API const char *ctw_ctx_warning(const ctw_ctx *ctx, int i);
/* Reports progress done/total of a stage; returns non-zero when the callback asks to cancel. */
CTW_API int ctw_progress(ctw_ctx *ctx, const char *stage, double done, double total);

/* Allocation through the context's allocator. ctw_malloc/ctw_calloc/ctw_realloc set
 * CTW_ERR_NOMEM on the context on failure and return NULL; ctw_free(ctx, NULL) is a no-op.
 * ctw_calloc checks n*size for overflow. */
CTW_API void *ctw_malloc(ctw_ctx *ctx, size_t n);
CTW_API void *ctw_calloc(ctw_ctx *ctx, size_t n, size_t size);
CTW_API void *ctw_realloc(ctw_ctx *ctx, void *p, size_t n);
CTW_API void ctw_free(ctw_ctx *ctx, void *p);
CTW_API char *ctw_strdup(ctw_ctx *ctx, const char *s);

/* ---- volumes ------------------------------------------------------------------------------ */

typedef enum ctw_dtype { CTW_U8 = 1, CTW_I16, CTW_U16, CTW_I32, CTW_F32 } ctw_dtype;

CTW_API size_t ctw_dtype_size(ctw_dtype t);
CTW_API const char *ctw_dtype_name(ctw_dtype t);

typedef struct ctw_volume {
	int64_t dim[3];            /* voxels i,j,k; i fastest                              */
	double spacing[3];         /* mm, > 0                                              */
	double origin[3];          /* world position of voxel (0,0,0), LPS mm              */
	double direction[3][3];    /* direction[r][c]: column c = unit world axis of index c */
	ctw_dtype dtype;
	void *data;                /* dim[0]*dim[1]*dim[2] elements, owned                 */
} ctw_volume;

/* Allocates a zero-filled volume with identity direction, unit spacing and zero origin.
 * CTW_ERR_INVALID when a dimension is < 1 or the voxel count exceeds the context's limit.
 * On success *out is new; free it with ctw_volume_free(). */
CTW_API int ctw_volume_new(ctw_ctx *ctx, const int64_t dim[3], ctw_dtype dtype, ctw_volume **out);
CTW_API void ctw_volume_free(ctw_ctx *ctx, ctw_volume *v);
CTW_API int64_t ctw_volume_count(const ctw_volume *v);
/* Copies spacing, origin and direction from src to dst (dimensions untouched). */
CTW_API void ctw_volume_copy_geometry(ctw_volume *dst, const ctw_volume *src);
/* 4x4 homogeneous matrix taking (i,j,k,1) to LPS world millimetres. */
CTW_API void ctw_volume_ijk_to_world(const ctw_volume *v, double m[4][4]);
CTW_API void ctw_volume_index_to_world(const ctw_volume *v, const double ijk[3], double xyz[3]);
/* The inverse: continuous index of a world point; 0 when the grid is degenerate. */
CTW_API int ctw_volume_world_to_index(const ctw_volume *v, const double xyz[3], double ijk[3]);
/* Checks that a geometry is usable: finite positive spacing, finite origin and an orthonormal
 * direction matrix (tolerance 1e-3, as DICOM direction cosines are rounded). */
CTW_API int ctw_check_geometry(ctw_ctx *ctx, const char *what, const ctw_volume *v);
/* Returns a new volume with the same geometry and data converted to dtype (values clamped to
 * the target range, floats rounded to nearest). */
CTW_API int ctw_volume_convert(ctw_ctx *ctx, const ctw_volume *in, ctw_dtype dtype,
			       ctw_volume **out);
/* Value of voxel n as a double. */
CTW_API double ctw_volume_get(const ctw_volume *v, int64_t n);
CTW_API void ctw_volume_set(ctw_volume *v, int64_t n, double value);
/* Three letters naming where the i, j, k axes point in LPS terms (nibabel's aff2axcodes
 * convention): e.g. "LPS" for identity direction, "RAS" for diag(-1,-1,1). out holds 4 bytes. */
CTW_API void ctw_volume_orientation(const ctw_volume *v, char out[4]);

/* ---- label maps ----------------------------------------------------------------------------- */

/* Canonical label vocabulary (DESIGN.md §3, CemrgApp four-chamber numbering). */
enum {
	CTW_LBL_LV_BLOOD = 1,
	CTW_LBL_LV_MYO = 2,
	CTW_LBL_RV_BLOOD = 3,
	CTW_LBL_LA_BLOOD = 4,
	CTW_LBL_RA_BLOOD = 5,
	CTW_LBL_AORTA = 6,
	CTW_LBL_PA = 7,
	CTW_LBL_LSPV = 8,
	CTW_LBL_LIPV = 9,
	CTW_LBL_RSPV = 10,
	CTW_LBL_RIPV = 11,
	CTW_LBL_LAA = 12,
	CTW_LBL_SVC = 13,
	CTW_LBL_IVC = 14,
	CTW_LBL_RV_MYO = 103,
	CTW_LBL_LA_WALL = 104,
	CTW_LBL_RA_WALL = 105,
	CTW_LBL_AORTA_WALL = 106,
	CTW_LBL_PA_WALL = 107,
	CTW_LBL_MITRAL = 201,
	CTW_LBL_TRICUSPID = 202,
	CTW_LBL_AORTIC = 203,
	CTW_LBL_PULMONARY = 204,
	/* non-chamber extras, for maps that do not split the heart (segmentation.md §1) */
	CTW_LBL_HEART = 250,          /* whole heart, chambers not separated            */
	CTW_LBL_AORTA_WHOLE = 251,    /* ascending + arch + descending aorta            */
	CTW_LBL_PULM_VEINS = 252      /* all pulmonary veins in one label               */
};

typedef struct ctw_label {
	int value;
	const char *name; /* "lv_blood", "lv_myo", ... */
} ctw_label;

/* The canonical vocabulary, sorted by value; *n receives its length. */
CTW_API const ctw_label *ctw_canonical_labels(int *n);
/* Name of a canonical label value, NULL when the value is not canonical. */
CTW_API const char *ctw_label_name(int value);

typedef struct ctw_labelmap {
	ctw_volume *grid;          /* CTW_U8 or CTW_U16 voxels holding canonical values, owned */
	int has_base_plane;        /* set by the segment stage (or the phantom) for ventricles */
	double base_point[3];      /* LPS mm, a point of the base plane                        */
	double base_normal[3];     /* unit, pointing away from the apex                        */
} ctw_labelmap;

/* Wraps an integer volume as a label map, taking ownership of *grid on success (and only then).
 * CTW_ERR_FORMAT when a voxel holds a negative, fractional or non-canonical value. */
CTW_API int ctw_labelmap_from_volume(ctw_ctx *ctx, const char *what, ctw_volume *grid,
				     ctw_labelmap **out);
CTW_API void ctw_labelmap_free(ctw_ctx *ctx, ctw_labelmap *lm);
/* Voxel count per label value (0..65535): counts[v] for v < n_counts. */
CTW_API void ctw_labelmap_count(const ctw_labelmap *lm, int64_t *counts, int n_counts);

/* ---- tetrahedral meshes --------------------------------------------------------------------- */

typedef struct ctw_tetmesh {   /* struct-of-arrays, 0-based, like tetgenio              */
	int64_t n_points, n_tets, n_tris;
	double *xyz;           /* 3*n_points, mm, LPS world frame                       */
	int32_t *tets;         /* 4*n_tets node indices                                 */
	int32_t *region;       /* n_tets region tags (1 LV myocardium, 2 RV myocardium) */
	int32_t *tris;         /* 3*n_tris boundary triangle node indices               */
	int32_t *tri_marker;   /* n_tris surface ids (ctw_surface_id)                   */
} ctw_tetmesh;

typedef enum ctw_surface_id {
	CTW_SURF_NONE = 0,
	CTW_SURF_EPI = 1,
	CTW_SURF_LV_ENDO = 2,
	CTW_SURF_RV_ENDO = 3,
	CTW_SURF_BASE = 4
} ctw_surface_id;

/* Names of surface ids ("epi", "lv_endo", "rv_endo", "base"); NULL for others. */
CTW_API const char *ctw_surface_name(int id);

/* Allocates a mesh with the given counts (arrays uninitialised, except region and tri_marker,
 * which are zeroed). Free it with ctw_tetmesh_free(). */
CTW_API int ctw_tetmesh_new(ctw_ctx *ctx, int64_t n_points, int64_t n_tets, int64_t n_tris,
			    ctw_tetmesh **out);
CTW_API void ctw_tetmesh_free(ctw_ctx *ctx, ctw_tetmesh *m);
/* Checks indices are in range, CTW_ERR_FORMAT naming the first bad element otherwise. */
CTW_API int ctw_tetmesh_check(ctw_ctx *ctx, const char *what, const ctw_tetmesh *m);
/* Signed volume of tet t in mm^3: (p1-p0)·((p2-p0)×(p3-p0))/6. */
CTW_API double ctw_tetmesh_tet_volume(const ctw_tetmesh *m, int64_t t);
CTW_API double ctw_tetmesh_volume(const ctw_tetmesh *m);

/* ---- fields on meshes ----------------------------------------------------------------------- */

typedef enum ctw_field_loc { CTW_ON_POINTS = 0, CTW_ON_CELLS = 1 } ctw_field_loc;

typedef struct ctw_field {     /* e.g. "fiber", CTW_ON_CELLS, 3 components, n_tets     */
	char name[32];
	ctw_field_loc loc;
	int n_comp;
	int64_t n;             /* number of points or cells                             */
	double *values;        /* n*n_comp, component fastest, owned                     */
} ctw_field;

/* Allocates a zeroed field; name is truncated to 31 bytes (CTW_ERR_INVALID if longer). */
CTW_API int ctw_field_new(ctw_ctx *ctx, const char *name, ctw_field_loc loc, int n_comp,
			  int64_t n, ctw_field **out);
CTW_API void ctw_field_free(ctw_ctx *ctx, ctw_field *f);

#ifdef __cplusplus
}
#endif
#endif
