/* mesh_read.c: reads a mesh back from disk: a directory written by the mesh or fibre stage
 * (mesh.vtu + surfaces.vtp: vtk_read.c for our own layout, else the VTK adapter) or a Gmsh
 * MSH 4.1 file (gmsh.c); the result is checked (indices in range, apex node) before it is
 * handed out. */
#define _POSIX_C_SOURCE 200809L
#include "mesh.h"

#include "fs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static int ends_with_msh(const char *p)
{
	size_t n = strlen(p);
	return n >= 4 && p[n - 4] == '.' && (p[n - 3] | 32) == 'm' && (p[n - 2] | 32) == 's' && (p[n - 1] | 32) == 'h';
}

/* dir/mesh.vtu, then dir/surfaces.vtp (its array "surface", as ctw_mesh_write writes it) as the
 * boundary triangles of the same points. */
static int read_dir(ctw_ctx *ctx, const char *dir, ctw_mesh_in *out)
{
	char *vtu = NULL, *vtp = NULL;
	int32_t *tris = NULL, *marker = NULL;
	int64_t n_tris = 0;
	ctw_tetmesh *m;
	int ret, handled;

	if ((ret = ctw_path_join(ctx, dir, "mesh.vtu", &vtu)) || (ret = ctw_path_join(ctx, dir, "surfaces.vtp", &vtp)))
		goto out;
	/* our own layout through the C reader; anything else through VTK */
	if ((ret = ctw_vtu_read(ctx, vtu, out, &handled)) || (!handled && (ret = ctw_vtk_read_vtu(ctx, vtu, out))))
		goto out;
	m = out->mesh;
	if ((ret = ctw_vtp_read_tris(ctx, vtp, "surface", m->n_points, &tris, &marker, &n_tris, &handled)) ||
	    (!handled && (ret = ctw_vtk_read_vtp_tris(ctx, vtp, "surface", m->n_points, &tris, &marker, &n_tris))))
		goto out;
	ctw_free(ctx, m->tris);
	ctw_free(ctx, m->tri_marker);
	m->tris = tris;
	m->tri_marker = marker;
	m->n_tris = n_tris;
	tris = marker = NULL;
out:
	ctw_free(ctx, tris);
	ctw_free(ctx, marker);
	ctw_free(ctx, vtu);
	ctw_free(ctx, vtp);
	return ret;
}

int ctw_mesh_read(ctw_ctx *ctx, const char *path, ctw_mesh_in *out)
{
	struct stat st;
	int ret;

	memset(out, 0, sizeof(*out));
	out->apex_node = -1;
	if (stat(path, &st))
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		ret = read_dir(ctx, path, out);
	else if (ends_with_msh(path))
		ret = ctw_gmsh_read(ctx, path, out);
	else
		return ctw_error(ctx, CTW_ERR_FORMAT, path,
				 "not a mesh: expected a directory with mesh.vtu and surfaces.vtp, or a Gmsh .msh file");
	if (!ret && !out->mesh)
		ret = ctw_error(ctx, CTW_ERR_INTERNAL, path, "reader returned no mesh");
	if (!ret)
		ret = ctw_tetmesh_check(ctx, path, out->mesh);
	if (!ret && (out->apex_node < -1 || out->apex_node >= out->mesh->n_points))
		ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "apex node %lld is not one of the %lld points",
				(long long)out->apex_node, (long long)out->mesh->n_points);
	if (!ret)
		for (int i = 0; i < out->n_fields; i++) {
			const ctw_field *f = out->fields[i];
			const int64_t want = f->loc == CTW_ON_CELLS ? out->mesh->n_tets : out->mesh->n_points;
			if (f->n != want) {
				ret = ctw_error(ctx, CTW_ERR_FORMAT, path, "field '%s' has %lld values for %lld %s", f->name,
						(long long)f->n, (long long)want, f->loc == CTW_ON_CELLS ? "cells" : "points");
				break;
			}
		}
	if (ret)
		ctw_mesh_in_release(ctx, out);
	return ret;
}

void ctw_mesh_in_release(ctw_ctx *ctx, ctw_mesh_in *in)
{
	if (!in)
		return;
	ctw_tetmesh_free(ctx, in->mesh);
	for (int i = 0; i < in->n_fields; i++)
		ctw_field_free(ctx, in->fields[i]);
	ctw_free(ctx, in->fields);
	memset(in, 0, sizeof(*in));
	in->apex_node = -1;
}

const ctw_field *ctw_mesh_in_field(const ctw_mesh_in *in, const char *name)
{
	for (int i = 0; in && name && i < in->n_fields; i++)
		if (!strcmp(in->fields[i]->name, name))
			return in->fields[i];
	return NULL;
}
