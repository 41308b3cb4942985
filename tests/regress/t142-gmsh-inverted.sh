# t142: Gmsh input to fibers with inverted tetrahedra (issue 12 item 9): reoriented, counted in a
# warning on stderr and in fibers.txt (before: exit 0 and no word); a zero-volume tetrahedron is
# refused with exit 2 naming the file.
. "$CTW_SRC/tests/regress/lib.sh"

/usr/bin/python3 - "$T" "$CTW_SRC/tests/hostile" "$CTW" <<'PY' || fail "cannot write the inputs"
import sys, importlib.util
t, here, ctw = sys.argv[1:4]
spec = importlib.util.spec_from_file_location('gg', here + '/gen_gmsh.py')
gg = importlib.util.module_from_spec(spec); spec.loader.exec_module(gg)
class G:
    ctw = sys.argv[3]
    def path(self, n): return t + '/' + n
pts, tets, tris, marks = gg.load_base(G())
inv = [(a, b, d, c) if i % 10 == 0 else (a, b, c, d) for i, (a, b, c, d) in enumerate(tets)]
open(t + '/inv.msh', 'wb').write(gg.ascii_msh(pts, inv, tris, marks))
p2 = list(pts); a, b, c, d = (pts[i] for i in tets[7])
p2[tets[7][3]] = tuple((a[k] + b[k] + c[k]) / 3 for k in range(3))
open(t + '/flat.msh', 'wb').write(gg.ascii_msh(p2, tets, tris, marks))
PY
run 0 "$CTW" fibers --mesh "$T/inv.msh" -o "$T/f"
has "$T/err" "reoriented"
has "$T/f/fibers.txt" "inverted tetrahedra of $T/inv.msh reoriented"
run 2 "$CTW" fibers --mesh "$T/flat.msh" -o "$T/g"
error_names "$T/flat.msh"
finish
