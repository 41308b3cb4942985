"""labelmaps.py: small helpers for the segmentation regression tests (Debian's /usr/bin/python3):
read a NIfTI label map written by cardiotwin (VTK's reader: voxels as stored, i fastest, and
the sform), write a NRRD label map with any geometry, map between grids."""
import numpy as np
import vtk
from vtk.util.numpy_support import vtk_to_numpy


def read_nifti(path):
    """(array[k, j, i], 4x4 index->LPS matrix) of a NIfTI file."""
    r = vtk.vtkNIFTIImageReader()
    r.SetFileName(path)
    r.Update()
    img = r.GetOutput()
    nx, ny, nz = img.GetDimensions()
    a = vtk_to_numpy(img.GetPointData().GetScalars()).reshape(nz, ny, nx).copy()
    m = r.GetSFormMatrix() or r.GetQFormMatrix()
    ras = np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])
    sp = img.GetSpacing()
    ijk_to_ras = ras @ np.diag([sp[0], sp[1], sp[2], 1.0])
    return a, np.diag([-1.0, -1.0, 1.0, 1.0]) @ ijk_to_ras


def write_nrrd(path, a, spacing=(1, 1, 1), origin=(0, 0, 0), direction=np.eye(3)):
    """a[k, j, i] as a raw little-endian NRRD in LPS space."""
    types = {np.uint8: "uchar", np.int16: "short", np.uint16: "ushort", np.int32: "int", np.float32: "float"}
    cols = [tuple(direction[r][c] * spacing[c] for r in range(3)) for c in range(3)]
    with open(path, "wb") as f:
        f.write(("NRRD0004\ntype: %s\ndimension: 3\nspace: left-posterior-superior\nsizes: %d %d %d\n"
                 "space directions: (%r,%r,%r) (%r,%r,%r) (%r,%r,%r)\nspace origin: (%r,%r,%r)\n"
                 "encoding: raw\nendian: little\n\n" % ((types[a.dtype.type], a.shape[2], a.shape[1], a.shape[0])
                 + cols[0] + cols[1] + cols[2] + tuple(origin))).encode())
        f.write(np.ascontiguousarray(a).tobytes())


def base_plane_error(truth_xml, plane_field):
    """(degrees between the plane's normal and the phantom's long axis, mm from the true base
    point to the plane), for `cardiotwin info`'s "base plane: px py pz normal nx ny nz"."""
    import math
    import xml.etree.ElementTree as ET
    pl = ET.parse(truth_xml).getroot().find("placement")
    bp = [float(x) for x in pl.get("base_point_lps_mm").split()]
    ax = [float(x) for x in pl.get("long_axis_lps").split()]
    v = plane_field.replace("normal", "").split()
    p, n = [float(x) for x in v[:3]], [float(x) for x in v[3:]]
    ang = math.degrees(math.acos(min(1, sum(a * b for a, b in zip(n, ax)))))
    return ang, abs(sum((b - q) * c for b, q, c in zip(bp, p, n)))
