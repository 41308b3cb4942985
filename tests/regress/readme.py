"""The README as executable documentation (issue 21), for t181 and t182.

  readme.py examples CTW README SRC DATA WORKDIR
      Runs every fenced `sh` example of the README, in order, in WORKDIR (later examples use what
      earlier ones made), with the placeholder paths of PLACEHOLDERS below; checks each command's
      exit code (0, or the `# exit N` of its comment) and the files its `# makes a, b` comment
      names. Blocks whose first line is `$ cardiotwin ...` are run too and every line they show
      (but `...`) must be in the output, in order.
  readme.py options CTW README
      Every option a command's --help lists is named in the README's section of that command and
      every option the section names is in the --help (global options and options written after
      another command's name excepted); every listed option is accepted by the command (it may
      fail later, for a missing input, but not as unknown) and an unlisted one is refused with the
      command's name in the message.
"""
import os
import re
import shlex
import subprocess
import sys

# The README's placeholder paths: what each stands for here.
#   SCD0000101/     a Sunnybrook cine MR study (DATA/sunnybrook_scd/final_data/dicoms/SCD0000101)
#   SCD0000301/     another (DATA/sunnybrook_scd/final_data/dicoms/SCD0000301)
#   SC-HF-I-1/      its expert contours (DATA/sunnybrook_scd/final_data/contourfiles/SC-HF-I-1)
#   cases/          the source tree's case files, with the phantom's spacing 2 mm (speed)
#   ct.nii.gz       an image: the biv phantom's (2 mm)
#   seg.nii.gz      its label map in the MM-WHS vocabulary (500 LV blood, 205 myocardium, 600 RV
#                   blood), as a tool of that family writes it
#   ../shared/data  DATA
# Speed: `run` and `mesh` get `--edge-length 3` (replacing the README's), so each takes seconds;
# the options are the README's otherwise.
# Not run: `make demo` and `make test`, the README's two commands (CI runs `make test`, which runs
# this; `make demo` is `run cases/phantom-biv.xml` and `verify`, both examples here).
SKIP = ("make demo", "make test")
COARSE = ("run", "mesh")


def die(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def blocks(readme):
    """(info string, [lines]) of every fenced block."""
    out, cur, info = [], None, None
    for line in open(readme, encoding="utf-8").read().splitlines():
        if line.startswith("```"):
            if cur is None:
                cur, info = [], line[3:].strip()
            else:
                out.append((info, cur))
                cur = None
        elif cur is not None:
            cur.append(line)
    return out


def setup(ctw, src, data, work):
    sb = os.path.join(data, "sunnybrook_scd", "final_data")
    links = {"SCD0000101": os.path.join(sb, "dicoms", "SCD0000101"),
             "SCD0000301": os.path.join(sb, "dicoms", "SCD0000301"),
             "SC-HF-I-1": os.path.join(sb, "contourfiles", "SC-HF-I-1")}
    for name, target in links.items():
        if not os.path.exists(target):
            die("placeholder %s: %s is missing" % (name, target))
        os.symlink(target, os.path.join(work, name))
    os.mkdir(os.path.join(work, "cases"))
    for f in os.listdir(os.path.join(src, "cases")):
        text = open(os.path.join(src, "cases", f), encoding="utf-8").read()
        if f.endswith(".xml"):
            text, n = re.subn(r'(<phantom [^>]*spacing=")[0-9.]+"', r'\g<1>2"', text)
        open(os.path.join(work, "cases", f), "w", encoding="utf-8").write(text)
    r = subprocess.run([ctw, "-q", "phantom", "--kind", "biv", "--spacing", "2", "-o", "_ph"], cwd=work,
                       capture_output=True, text=True)
    if r.returncode:
        die("phantom for ct.nii.gz: " + r.stderr)
    os.rename(os.path.join(work, "_ph", "image.nii.gz"), os.path.join(work, "ct.nii.gz"))
    import numpy as np
    import labelmaps as lm
    a, m = lm.read_nifti(os.path.join(work, "_ph", "labels.nii.gz"))
    sp = np.linalg.norm(m[:3, :3], axis=0)
    w = np.zeros(a.shape, np.int16)
    w[a == 1], w[a == 2], w[a == 3], w[a == 103] = 500, 205, 600, 205
    lm.write_nrrd(os.path.join(work, "_seg.nrrd"), w, spacing=sp, origin=m[:3, 3], direction=m[:3, :3] / sp)
    r = subprocess.run([ctw, "-q", "convert", "_seg.nrrd", "-o", "seg.nii.gz"], cwd=work, capture_output=True, text=True)
    if r.returncode:
        die("seg.nii.gz: " + r.stderr)


def command(line, ctw, data):
    """argv of a README command line, placeholders mapped; (argv, makes, exit code)."""
    code, makes = 0, []
    if "#" in line:
        line, comment = line.split("#", 1)
        m = re.search(r"exit (\d)", comment)
        code = int(m.group(1)) if m else 0
        m = re.search(r"makes (.*)", comment)
        makes = [f.strip() for f in m.group(1).split(",")] if m else []
    argv = shlex.split(line.replace("../shared/data", data))
    if not argv or argv[0] != "cardiotwin":
        die("not a cardiotwin command: %r" % line)
    argv[0] = ctw
    if argv[1] in COARSE:
        if "--edge-length" in argv:
            i = argv.index("--edge-length")
            del argv[i:i + 2]
        argv += ["--edge-length", "3"]
    return argv, makes, code


def examples(ctw, readme, src, data, work):
    setup(ctw, src, data, work)
    n = 0
    for info, lines in blocks(readme):
        if info == "sh":
            for line in lines:
                if not line.strip() or line.lstrip().startswith("#") or line.startswith(SKIP):
                    continue
                argv, makes, code = command(line, ctw, data)
                r = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=600)
                n += 1
                if r.returncode != code:
                    die("exit %d, the README says %d: %s\n%s" % (r.returncode, code, line, r.stderr[-2000:]))
                for f in makes:
                    if not os.path.exists(os.path.join(work, f)):
                        die("%s: the README says it makes %s; it does not" % (line, f))
                print("ok: " + line.split("#")[0].strip())
        elif lines and lines[0].startswith("$ cardiotwin"):
            argv, _, code = command(lines[0][2:], ctw, data)
            r = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=600)
            n += 1
            if r.returncode:
                die("exit %d: %s\n%s" % (r.returncode, lines[0], r.stderr))
            out = r.stdout.splitlines()
            pos = 0
            for want in lines[1:]:
                if want.strip() == "...":
                    continue
                # a <placeholder> stands for any text (a value that depends on the salt)
                pat = re.compile("".join(".+" if part.startswith("<") else re.escape(part)
                                         for part in re.split(r"(<[^>]+>)", want.rstrip())) + "$")
                while pos < len(out) and not pat.match(out[pos].rstrip()):
                    pos += 1
                if pos == len(out):
                    die("%s: the README shows %r; the program printed:\n%s" % (lines[0], want, r.stdout))
                pos += 1
            print("ok: " + lines[0])
    if n < 10:
        die("only %d examples found in %s" % (n, readme))
    print("%d examples" % n)


GLOBAL = {"--help", "--version", "--verbose", "--quiet", "--salt-file", "--max-voxels", "--timeout", "--strict"}


def help_options(ctw, cmd):
    """[(option, takes a value)] of the options section of `cmd --help`."""
    h = subprocess.run([ctw, cmd, "--help"], capture_output=True, text=True).stdout
    if "options:" not in h:
        return []
    opts = []
    for m in re.finditer(r"^  (?:-\w\|)?(--[a-z][\w-]*)( \S+)?", h.split("options:", 1)[1], re.M):
        opts.append((m.group(1), m.group(2) is not None))
    return opts


def options(ctw, readme):
    text = open(readme, encoding="utf-8").read()
    top = subprocess.run([ctw, "--help"], capture_output=True, text=True).stdout
    cmds = [c for c in re.findall(r"^  (\w+)\s{2,}", top, re.M) if c != "help"]
    sections = {}
    for m in re.finditer(r"^### cardiotwin (\w+)(.*?)(?=^### |^## |\Z)", text, re.M | re.S):
        sections[m.group(1)] = sections.get(m.group(1), "") + m.group(0)
    bad = []
    for c in cmds:
        if c not in sections:
            bad.append("%s: no README section '### cardiotwin %s'" % (c, c))
            continue
        listed = help_options(ctw, c)
        names = {o for o, _ in listed} - {"--help", "--output"}
        sec = sections[c]
        # options written after another command's name (`segment --iso` in mesh's section) are
        # that command's
        other = "|".join(x for x in cmds if x != c)
        sec_own = re.sub(r"(?<![\w-])(?:%s)((?:\s+(?:--?[\w-]+|[\w./-]+))+)" % other, " ", sec)
        named = set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", sec_own)) - (GLOBAL - names)
        for o in sorted(names - named):
            bad.append("%s: --help lists %s, the README's section does not name it" % (c, o))
        for o in sorted(named - names):
            bad.append("%s: the README names %s, --help does not list it" % (c, o))
        # every listed option accepted (a failure later is fine, not as unknown)
        for o, value in listed:
            if o == "--help":
                continue
            argv = [ctw, c, o] + (["1"] if value else [])
            r = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd="/")
            if "unknown option" in r.stderr or r.returncode not in (0, 1, 2, 3):
                bad.append("%s: listed option %s refused as unknown (exit %d): %s" % (c, o, r.returncode, r.stderr.strip()))
        # an unlisted one refused, naming the command
        r = subprocess.run([ctw, c, "--no-such-option", "-o", "x"], capture_output=True, text=True, cwd="/")
        if r.returncode != 1 or not re.search(r"error: %s: unknown option '--no-such-option'" % c, r.stderr):
            bad.append("%s: an unlisted option: exit %d, %r" % (c, r.returncode, r.stderr.strip()))
    if bad:
        die("\n  ".join(["the README and --help disagree:"] + bad))
    print("%d commands: README and --help agree; every listed option accepted" % len(cmds))


if __name__ == "__main__":
    if sys.argv[1] == "examples":
        examples(*sys.argv[2:7])
    elif sys.argv[1] == "options":
        options(*sys.argv[2:4])
    else:
        die("usage: readme.py examples|options ...")
