"""make_bad_dicom.py OUTDIR SRC_SERIES_DIR PHANTOM_SERIES_DIR: writes malformed DICOM inputs for
t105, one per line on stdout as `command<TAB>path<TAB>expected words`. Run with Debian's
/usr/bin/python3 (pydicom). SRC is a cine series (Sunnybrook), PHANTOM a single-phase one."""
import copy, glob, os, shutil, sys, warnings
import pydicom
from pydicom.uid import UID

warnings.simplefilter("ignore")
out, cine, series = sys.argv[1], sys.argv[2], sys.argv[3]
cine_files = sorted(glob.glob(cine + "/*.dcm"), key=lambda p: int(os.path.basename(p)[:-4]))
series_files = sorted(glob.glob(series + "/*.dcm"))
one = cine_files[0]
raw = open(one, "rb").read()
cases = []


def emit(cmd, path, words):
    cases.append("%s\t%s\t%s" % (cmd, path, words))


def single(name, words, edit):
    d = pydicom.dcmread(one)
    edit(d)
    p = os.path.join(out, name + ".dcm")
    d.save_as(p)
    emit("convert", p, words)


def truncated(n):
    p = os.path.join(out, "trunc%d.dcm" % n)
    open(p, "wb").write(raw[:n])
    emit("convert", p, "")


def series_case(name, words, edit, cmd="convert", src=None):
    files = src or series_files
    d = os.path.join(out, name)
    os.makedirs(d)
    for k, f in enumerate(files):
        ds = pydicom.dcmread(f)
        if edit(k, ds) is False:
            continue
        ds.save_as(os.path.join(d, os.path.basename(f)))
    emit(cmd, d, words)


def set_tag(tag, value):
    def edit(d):
        if value is None:
            del d[tag]
        else:
            d[tag].value = value
    return edit


# 1-8: truncated files, from inside the preamble to inside the pixel data
for n in (0, 100, 140, 300, 700, 1500, 4000, len(raw) - 1000):
    truncated(n)
# 9-14: pixel spacing zero, NaN, negative, infinite, absent, absurd
single("spacing-zero", "PixelSpacing", set_tag("PixelSpacing", ["0", "0"]))
single("spacing-nan", "PixelSpacing", set_tag("PixelSpacing", ["nan", "nan"]))
single("spacing-negative", "PixelSpacing", set_tag("PixelSpacing", ["-1.3", "1.3"]))
single("spacing-inf", "PixelSpacing", set_tag("PixelSpacing", ["inf", "1"]))
single("spacing-missing", "no PixelSpacing", set_tag("PixelSpacing", None))
single("spacing-huge", "PixelSpacing", set_tag("PixelSpacing", ["1e9", "1e9"]))
# 15-19: dimensions that the pixel data cannot hold, or absurd
single("dims-huge", "pixel data holds", lambda d: (setattr(d, "Rows", 65535), setattr(d, "Columns", 65535)))
single("rows-double", "pixel data holds", set_tag("Rows", 512))
single("pixels-missing", "damaged", lambda d: d.__delitem__("PixelData"))
single("pixels-short", "pixel data holds", lambda d: setattr(d, "PixelData", d.PixelData[:1000]))
single("pixels-empty", "pixel data holds", lambda d: setattr(d, "PixelData", b""))
# 20-25: unsupported or broken pixel descriptions
single("bits-12", "bits allocated", set_tag("BitsAllocated", 12))
single("rgb", "samples per pixel", set_tag("SamplesPerPixel", 3))
single("multiframe", "multi-frame", lambda d: setattr(d, "NumberOfFrames", 10))
single("iop-parallel", "orthogonal", set_tag("ImageOrientationPatient", ["1", "0", "0", "1", "0", "0"]))
single("iop-zero", "orthogonal", set_tag("ImageOrientationPatient", ["0", "0", "0", "0", "0", "0"]))
single("slope-zero", "RescaleSlope", lambda d: setattr(d, "RescaleSlope", "0"))
# 26-27: transfer syntaxes the parser refuses
def big_endian(d):
    d.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.2")
single("big-endian-claimed", "damaged", big_endian)
p = os.path.join(out, "length-corrupt.dcm")
b = bytearray(raw)
i = b.find(b"\x10\x00\x10\x00")  # (0010,0010) PatientName: make its length absurd
b[i + 6:i + 8] = b"\xff\x7f"
open(p, "wb").write(bytes(b))
emit("convert", p, "damaged")
# 28-36: series that do not make one 3D grid
n = len(series_files)
series_case("missing-slice", "unevenly spaced", lambda k, d: False if k == n // 2 else None)
def tilt(k, d):
    p = [float(x) for x in d.ImagePositionPatient]
    d.ImagePositionPatient = [str(p[0] + 0.5 * k), str(p[1]), str(p[2])]
series_case("tilt", "gantry tilt", tilt)
series_case("gantry-tag", "gantry tilt", lambda k, d: setattr(d, "GantryDetectorTilt", "15") if k == 3 else None)
def mixed(k, d):
    if k == 2:
        d.ImageOrientationPatient = ["0", "1", "0", "0", "0", "-1"]
series_case("mixed-orientation", "orientations", mixed)
def other_size(k, d):
    if k == 4:
        d.Rows = d.Rows // 2
        d.PixelData = d.PixelData[: d.Rows * d.Columns * 2]
series_case("mixed-size", "other slices have", other_size)
series_case("mixed-spacing", "PixelSpacing differs", lambda k, d: setattr(d, "PixelSpacing", ["2", "2"]) if k == 1 else None)
series_case("no-position", "no ImagePositionPatient", lambda k, d: d.__delitem__("ImagePositionPatient") if k == 5 else None)
series_case("cine-phase-missing", "phase 8 is missing there", lambda k, d: False if k == 27 else None, cmd="convert --phase 20", src=cine_files)
series_case("damaged-slice", "damaged DICOM file", lambda k, d: None)
shutil.copy(os.path.join(out, "trunc1500.dcm"), os.path.join(out, "damaged-slice", os.path.basename(series_files[n // 2])))
# 37-40: directories without a usable series, ambiguous or unknown choices
os.makedirs(os.path.join(out, "empty"))
emit("convert", os.path.join(out, "empty"), "no DICOM image series")
os.makedirs(os.path.join(out, "text-only"))
open(os.path.join(out, "text-only", "notes.txt"), "w").write("not DICOM\n")
emit("info", os.path.join(out, "text-only"), "1 other files")
two = os.path.join(out, "two-series")
os.makedirs(two)
# two series, neither a clear short-axis stack (2 and 1 slice positions: the auto stack needs 3)
for f in series_files[:2]:
    shutil.copy(f, two)
for f in cine_files[:2]:
    shutil.copy(f, two)
emit("convert", two, "choose one with --stack N or --series")
emit("convert --series 7", two, "no series '7'")
print("\n".join(cases))
