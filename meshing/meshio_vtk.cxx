// meshio_vtk.cxx: the VTK readers of meshes written back (mesh.vtu, surfaces.vtp; legacy .vtk
// too): VTK objects are read and copied out into ctw_malloc'd arrays; every entry point catches
// every exception. VTK reports reader errors through its output window rather than by throwing:
// during a read a window of ours keeps the first error text (for our message) and forwards
// VTK's messages to ctw_log; outside our reads it hands them to the window installed before it
// (such as surface_vtk.cxx's), so the two adapters do not take each other's messages.
#include "mesh.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <vtkCellArray.h>
#include <vtkCellArrayIterator.h>
#include <vtkCellData.h>
#include <vtkCellTypes.h>
#include <vtkDataArray.h>
#include <vtkDoubleArray.h>
#include <vtkErrorCode.h>
#include <vtkFieldData.h>
#include <vtkLogger.h>
#include <vtkObjectFactory.h>
#include <vtkOutputWindow.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataReader.h>
#include <vtkSmartPointer.h>
#include <vtkUnstructuredGrid.h>
#include <vtkUnstructuredGridReader.h>
#include <vtkXMLPolyDataReader.h>
#include <vtkXMLUnstructuredGridReader.h>

namespace {

template <class T> using Ptr = vtkSmartPointer<T>;

thread_local ctw_ctx *cur_ctx;     // context of the running read, NULL outside
thread_local std::string last_err; // first VTK error text of the running read, tidied

// "ERROR: In file.cxx, line 12\nvtkXMLReader (0x1234): Error parsing XML\n\n" -> "Error parsing XML".
std::string tidy(const char *t)
{
	std::string s(t ? t : "");
	size_t nl = s.find('\n');
	if (s.compare(0, 3, "ERR") == 0 || s.compare(0, 4, "Warn") == 0)
		s = nl == std::string::npos ? s : s.substr(nl + 1);
	size_t p = s.find("): ");
	if (p != std::string::npos && p < 80)
		s = s.substr(p + 3);
	while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '.'))
		s.pop_back();
	for (char &c : s)
		if (c == '\n')
			c = ' ';
	return s;
}

class ReadWindow : public vtkOutputWindow {
public:
	static ReadWindow *New();
	vtkTypeMacro(ReadWindow, vtkOutputWindow);
	Ptr<vtkOutputWindow> next; // the window before ours
	void DisplayText(const char *t) override
	{
		if (!note(CTW_LOG_DEBUG, t, false) && next)
			next->DisplayText(t);
	}
	void DisplayErrorText(const char *t) override
	{
		if (!note(CTW_LOG_WARN, t, true) && next)
			next->DisplayErrorText(t);
	}
	void DisplayWarningText(const char *t) override
	{
		if (!note(CTW_LOG_DEBUG, t, false) && next)
			next->DisplayWarningText(t);
	}
	void DisplayGenericWarningText(const char *t) override
	{
		if (!note(CTW_LOG_DEBUG, t, false) && next)
			next->DisplayGenericWarningText(t);
	}
	void DisplayDebugText(const char *t) override
	{
		if (!note(CTW_LOG_DEBUG, t, false) && next)
			next->DisplayDebugText(t);
	}

private:
	static bool note(ctw_log_level lvl, const char *t, bool err)
	{
		if (!cur_ctx)
			return false;
		std::string s = tidy(t);
		if (err && last_err.empty())
			last_err = s;
		ctw_log(cur_ctx, lvl, "vtk", "%s", s.c_str());
		return true;
	}
};
vtkStandardNewMacro(ReadWindow);

// Puts our window in front (again, when another adapter replaced it) and binds it to ctx for
// the duration of one entry point.
struct Session {
	explicit Session(ctw_ctx *ctx)
	{
		static std::mutex mu;
		static ReadWindow *ours; // kept alive (one reference never released): compared by address
		{
			std::lock_guard<std::mutex> lock(mu);
			vtkLogger::SetStderrVerbosity(vtkLogger::VERBOSITY_OFF);
			vtkOutputWindow *cur = vtkOutputWindow::GetInstance();
			if (cur != ours) {
				ReadWindow *w = ReadWindow::New();
				w->next = cur;
				vtkOutputWindow::SetInstance(w);
				if (ours)
					ours->UnRegister(nullptr);
				ours = w; // our New() reference keeps it
			}
		}
		cur_ctx = ctx;
		last_err.clear();
	}
	~Session() { cur_ctx = nullptr; }
};

std::string reason(const char *fallback) { return last_err.empty() ? fallback : last_err; }

template <class F> int guarded(ctw_ctx *ctx, const char *domain, F f)
{
	try {
		Session s(ctx);
		return f();
	} catch (const std::bad_alloc &) {
		return ctw_error(ctx, CTW_ERR_NOMEM, domain, "out of memory in VTK");
	} catch (const std::exception &e) {
		return ctw_error(ctx, CTW_ERR_EXTERNAL, domain, "%s", e.what());
	} catch (...) {
		return ctw_error(ctx, CTW_ERR_INTERNAL, domain, "unknown C++ exception in the VTK adapter");
	}
}

bool ends_with(const char *s, const char *ext)
{
	size_t n = std::strlen(s), k = std::strlen(ext);
	if (n < k)
		return false;
	for (size_t i = 0; i < k; i++)
		if ((s[n - k + i] | 32) != ext[i])
			return false;
	return true;
}

// CTW_ERR_IO unless path is a readable regular file.
int check_file(ctw_ctx *ctx, const char *path)
{
	struct stat st;
	if (stat(path, &st))
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", std::strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: not a regular file");
	FILE *f = std::fopen(path, "rb");
	if (!f)
		return ctw_error(ctx, CTW_ERR_IO, path, "cannot open: %s", std::strerror(errno));
	std::fclose(f);
	return CTW_OK;
}

// Legacy readers keep only the first array of each kind unless told otherwise.
void read_all(vtkDataReader *r)
{
	r->ReadAllScalarsOn();
	r->ReadAllVectorsOn();
	r->ReadAllNormalsOn();
	r->ReadAllTensorsOn();
	r->ReadAllColorScalarsOn();
	r->ReadAllTCoordsOn();
	r->ReadAllFieldsOn();
}

// Runs reader r on path; CTW_ERR_FORMAT when VTK reported an error or produced nothing.
template <class R, class D> int run_reader(ctw_ctx *ctx, const char *path, R *r, D **out, const char *what)
{
	r->SetFileName(path);
	r->Update();
	*out = r->GetOutput();
	if (r->GetErrorCode() != vtkErrorCode::NoError || !last_err.empty() || !*out)
		return ctw_error(ctx, CTW_ERR_FORMAT, path, "not a %s that VTK can read: %s", what,
				 reason(r->GetErrorCode() ? vtkErrorCode::GetStringFromErrorCode(r->GetErrorCode())
							  : "no output")
					 .c_str());
	return CTW_OK;
}

// An integer from a numeric value (exact), or false.
bool integral(double v, int64_t lo, int64_t hi, int64_t *out)
{
	if (!(v >= (double)lo && v <= (double)hi) || v != std::floor(v))
		return false;
	*out = (int64_t)v;
	return true;
}

// What a read builds before handing it out; freed unless released (also on exceptions).
struct Building {
	ctw_ctx *ctx;
	ctw_tetmesh *mesh = nullptr;
	std::vector<ctw_field *> fields;
	explicit Building(ctw_ctx *c) : ctx(c) {}
	~Building()
	{
		ctw_tetmesh_free(ctx, mesh);
		for (ctw_field *f : fields)
			ctw_field_free(ctx, f);
	}
};

// Copies the numeric arrays of dsa (but `skip`) into fields on loc with n tuples.
int copy_fields(ctw_ctx *ctx, const char *path, vtkFieldData *dsa, ctw_field_loc loc, int64_t n, const char *skip,
		Building &b)
{
	const char *where = loc == CTW_ON_CELLS ? "cell" : "point";
	for (int i = 0; i < dsa->GetNumberOfArrays(); i++) {
		vtkAbstractArray *aa = dsa->GetAbstractArray(i);
		vtkDataArray *a = vtkDataArray::SafeDownCast(aa);
		const char *name = aa ? aa->GetName() : nullptr;
		if (!name || !name[0] || (skip && !std::strcmp(name, skip)))
			continue;
		if (!a) {
			ctw_log(ctx, CTW_LOG_INFO, "vtk", "%s: %s array '%s' is not numeric: skipped", path, where, name);
			continue;
		}
		const int nc = a->GetNumberOfComponents();
		if (std::strlen(name) > 31 || nc < 1 || nc > 9) {
			ctw_log(ctx, CTW_LOG_INFO, "vtk", "%s: %s array '%s' skipped (%s)", path, where, name,
				std::strlen(name) > 31 ? "name longer than 31 bytes" : "more than 9 components");
			continue;
		}
		if ((int64_t)a->GetNumberOfTuples() != n)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "%s array '%s' has %lld values for %lld %ss", where, name,
					 (long long)a->GetNumberOfTuples(), (long long)n, where);
		ctw_field *f = nullptr;
		int ret = ctw_field_new(ctx, name, loc, nc, n, &f);
		if (ret)
			return ret;
		b.fields.push_back(f);
		if (vtkDoubleArray *d = vtkDoubleArray::SafeDownCast(a)) {
			if (n)
				std::memcpy(f->values, d->GetPointer(0), sizeof(double) * (size_t)n * (size_t)nc);
		} else {
			for (int64_t t = 0; t < n; t++)
				for (int c = 0; c < nc; c++)
					f->values[t * nc + c] = a->GetComponent((vtkIdType)t, c);
		}
	}
	return CTW_OK;
}

} // namespace

extern "C" int ctw_vtk_read_vtu(ctw_ctx *ctx, const char *path, ctw_mesh_in *out)
{
	std::memset(out, 0, sizeof(*out));
	out->apex_node = -1;
	return guarded(ctx, path, [&]() -> int {
		int ret = check_file(ctx, path);
		if (ret)
			return ret;
		vtkUnstructuredGrid *ug = nullptr;
		Ptr<vtkAlgorithm> keep;
		if (ends_with(path, ".vtk")) {
			auto r = Ptr<vtkUnstructuredGridReader>::New();
			keep = r;
			read_all(r);
			ret = run_reader(ctx, path, r.Get(), &ug, "legacy VTK unstructured grid");
		} else {
			auto r = Ptr<vtkXMLUnstructuredGridReader>::New();
			keep = r;
			ret = run_reader(ctx, path, r.Get(), &ug, "VTU file");
		}
		if (ret)
			return ret;
		const int64_t np = ug->GetNumberOfPoints(), nt = ug->GetNumberOfCells();
		if (nt == 0)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "holds no cells (expected tetrahedra)");
		if (np > INT32_MAX || nt > INT32_MAX)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "too large (%lld points, %lld cells)", (long long)np,
					 (long long)nt);
		for (int64_t c = 0; c < nt; c++) {
			const int type = ug->GetCellType((vtkIdType)c);
			if (type != VTK_TETRA) {
				const char *cls = vtkCellTypes::GetClassNameFromTypeId(type);
				return ctw_error(ctx, CTW_ERR_FORMAT, path,
						 "cell %lld is a %s (VTK cell type %d); only tetrahedra are read", (long long)c,
						 cls ? cls : "cell of unknown type", type);
			}
		}
		Building b(ctx);
		if ((ret = ctw_tetmesh_new(ctx, np, nt, 0, &b.mesh)))
			return ret;
		ctw_tetmesh *m = b.mesh;
		vtkPoints *pts = ug->GetPoints();
		if (np && vtkDoubleArray::SafeDownCast(pts->GetData()))
			std::memcpy(m->xyz, vtkDoubleArray::SafeDownCast(pts->GetData())->GetPointer(0),
				    sizeof(double) * 3 * (size_t)np);
		else
			for (int64_t i = 0; i < np; i++)
				pts->GetPoint((vtkIdType)i, m->xyz + 3 * i);
		vtkIdType n;
		const vtkIdType *ids;
		int64_t t = 0;
		auto it = vtk::TakeSmartPointer(ug->GetCells()->NewIterator());
		for (it->GoToFirstCell(); !it->IsDoneWithTraversal(); it->GoToNextCell(), t++) {
			it->GetCurrentCell(n, ids);
			if (n != 4 || t >= nt)
				return ctw_error(ctx, CTW_ERR_FORMAT, path, "tetrahedron %lld has %lld corners", (long long)t,
						 (long long)n);
			for (int k = 0; k < 4; k++) {
				if (ids[k] < 0 || ids[k] >= np)
					return ctw_error(ctx, CTW_ERR_FORMAT, path, "tetrahedron %lld refers to point %lld of %lld",
							 (long long)t, (long long)ids[k], (long long)np);
				m->tets[4 * t + k] = (int32_t)ids[k];
			}
		}
		vtkDataArray *tag = ug->GetCellData()->GetArray("tag");
		if (tag && tag->GetNumberOfComponents() == 1 && tag->GetNumberOfTuples() == nt) {
			for (int64_t c = 0; c < nt; c++) {
				int64_t v;
				if (!integral(tag->GetComponent((vtkIdType)c, 0), INT32_MIN, INT32_MAX, &v))
					return ctw_error(ctx, CTW_ERR_FORMAT, path, "cell array 'tag' holds %g (cell %lld), not a region tag",
							 tag->GetComponent((vtkIdType)c, 0), (long long)c);
				m->region[c] = (int32_t)v;
			}
		} else {
			if (tag)
				return ctw_error(ctx, CTW_ERR_FORMAT, path, "cell array 'tag' has %d components and %lld values",
						 tag->GetNumberOfComponents(), (long long)tag->GetNumberOfTuples());
			for (int64_t c = 0; c < nt; c++)
				m->region[c] = 1;
		}
		int64_t apex = -1;
		vtkDataArray *ap = ug->GetFieldData() ? ug->GetFieldData()->GetArray("apex_node") : nullptr;
		if (ap && ap->GetNumberOfTuples() > 0 && !integral(ap->GetComponent(0, 0), -1, np - 1, &apex))
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "field data apex_node = %g is not a point of the %lld",
					 ap->GetComponent(0, 0), (long long)np);
		if ((ret = copy_fields(ctx, path, ug->GetPointData(), CTW_ON_POINTS, np, nullptr, b)) ||
		    (ret = copy_fields(ctx, path, ug->GetCellData(), CTW_ON_CELLS, nt, "tag", b)))
			return ret;
		ctw_field **fl = nullptr;
		if (!b.fields.empty()) {
			fl = static_cast<ctw_field **>(ctw_malloc(ctx, sizeof(ctw_field *) * b.fields.size()));
			if (!fl)
				return CTW_ERR_NOMEM;
			std::memcpy(fl, b.fields.data(), sizeof(ctw_field *) * b.fields.size());
		}
		out->mesh = m;
		out->apex_node = apex;
		out->fields = fl;
		out->n_fields = (int)b.fields.size();
		b.mesh = nullptr;
		b.fields.clear();
		ctw_log(ctx, CTW_LOG_DEBUG, "vtk", "%s: %lld points, %lld tetrahedra, %d fields, apex node %lld", path,
			(long long)np, (long long)nt, out->n_fields, (long long)apex);
		return CTW_OK;
	});
}

extern "C" int ctw_vtk_read_vtp_tris(ctw_ctx *ctx, const char *path, const char *array, int64_t n_points,
				     int32_t **tris, int32_t **marker, int64_t *n_tris)
{
	*tris = *marker = nullptr;
	*n_tris = 0;
	return guarded(ctx, path, [&]() -> int {
		int ret = check_file(ctx, path);
		if (ret)
			return ret;
		vtkPolyData *pd = nullptr;
		Ptr<vtkAlgorithm> keep;
		if (ends_with(path, ".vtk")) {
			auto r = Ptr<vtkPolyDataReader>::New();
			keep = r;
			read_all(r);
			ret = run_reader(ctx, path, r.Get(), &pd, "legacy VTK polydata");
		} else {
			auto r = Ptr<vtkXMLPolyDataReader>::New();
			keep = r;
			ret = run_reader(ctx, path, r.Get(), &pd, "VTP file");
		}
		if (ret)
			return ret;
		if ((int64_t)pd->GetNumberOfPoints() != n_points)
			return ctw_error(ctx, CTW_ERR_FORMAT, path,
					 "holds %lld points, the mesh %lld (the surfaces must use the mesh's points)",
					 (long long)pd->GetNumberOfPoints(), (long long)n_points);
		if (pd->GetNumberOfVerts() || pd->GetNumberOfLines() || pd->GetNumberOfStrips())
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "holds vertices, lines or strips; only triangles are read");
		const int64_t nt = pd->GetNumberOfPolys();
		if (nt > INT32_MAX)
			return ctw_error(ctx, CTW_ERR_FORMAT, path, "too many triangles (%lld)", (long long)nt);
		vtkDataArray *arr = nullptr;
		if (array) {
			arr = pd->GetCellData()->GetArray(array);
			if (!arr)
				return ctw_error(ctx, CTW_ERR_FORMAT, path, "has no cell array '%s' (surface markers)", array);
			if (arr->GetNumberOfComponents() != 1 || arr->GetNumberOfTuples() != nt)
				return ctw_error(ctx, CTW_ERR_FORMAT, path, "cell array '%s' has %d components and %lld values",
						 array, arr->GetNumberOfComponents(), (long long)arr->GetNumberOfTuples());
		}
		std::vector<int32_t> tv(3 * (size_t)nt), mv((size_t)nt, 0);
		vtkIdType n;
		const vtkIdType *ids;
		int64_t t = 0;
		auto it = vtk::TakeSmartPointer(pd->GetPolys()->NewIterator());
		for (it->GoToFirstCell(); !it->IsDoneWithTraversal() && t < nt; it->GoToNextCell(), t++) {
			it->GetCurrentCell(n, ids);
			if (n != 3)
				return ctw_error(ctx, CTW_ERR_FORMAT, path, "cell %lld has %lld corners; only triangles are read",
						 (long long)t, (long long)n);
			for (int k = 0; k < 3; k++) {
				if (ids[k] < 0 || ids[k] >= n_points)
					return ctw_error(ctx, CTW_ERR_FORMAT, path, "triangle %lld refers to point %lld of %lld",
							 (long long)t, (long long)ids[k], (long long)n_points);
				tv[3 * (size_t)t + (size_t)k] = (int32_t)ids[k];
			}
			int64_t v = 0;
			if (arr && !integral(arr->GetComponent((vtkIdType)t, 0), INT32_MIN, INT32_MAX, &v))
				return ctw_error(ctx, CTW_ERR_FORMAT, path, "cell array '%s' holds %g (cell %lld), not a marker", array,
						 arr->GetComponent((vtkIdType)t, 0), (long long)t);
			mv[(size_t)t] = (int32_t)v;
		}
		int32_t *ot = static_cast<int32_t *>(ctw_malloc(ctx, sizeof(int32_t) * 3 * (size_t)(nt ? nt : 1)));
		int32_t *om = ot ? static_cast<int32_t *>(ctw_malloc(ctx, sizeof(int32_t) * (size_t)(nt ? nt : 1))) : nullptr;
		if (!om) {
			ctw_free(ctx, ot);
			return CTW_ERR_NOMEM;
		}
		if (nt) {
			std::memcpy(ot, tv.data(), sizeof(int32_t) * 3 * (size_t)nt);
			std::memcpy(om, mv.data(), sizeof(int32_t) * (size_t)nt);
		}
		*tris = ot;
		*marker = om;
		*n_tris = nt;
		return CTW_OK;
	});
}
