#!/usr/bin/python3
"""Hostile-input runner (issue 12): every generator gen_<family>.py in this directory makes its
inputs at test time in a temporary directory (nothing is committed as a file) and returns cases;
each case is run through the program with a time bound and must end in an allowed exit code.
A crash (a signal, exit 4 or >= 128), a hang past its bound, an exit code outside the allowed set,
an error line that does not name the input, or a failed result check is a failure.

Usage: run.py [--family NAME ...] [--list] [--keep DIR] [-j N]
Environment: CTW (the program), CTW_DATA (../shared/data), CTW_SRC (the source tree).

A generator module defines generate(g) where g is a Gen (below); it calls g.case(...) once per
input. Cases run in a fresh empty working directory each (so bare output names are safe).
"""
import argparse
import concurrent.futures
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Case:
    def __init__(self, family, name, args, expect, timeout, names, check, env, stdin):
        self.family = family
        self.name = name
        self.args = args
        self.expect = expect
        self.timeout = timeout
        self.names = names
        self.check = check
        self.env = env
        self.stdin = stdin


class Gen:
    """What a generator gets: a directory of its own for inputs, the shared data and a
    salt, and case() to register a run."""

    def __init__(self, family, root, data, ctw):
        self.family = family
        self.dir = os.path.join(root, family)
        os.makedirs(self.dir, exist_ok=True)
        self.data = data
        self.ctw = ctw
        self.cases = []
        self.has_data = os.path.isdir(data)

    def path(self, name):
        """An input path of this family (directories are made by the caller)."""
        return os.path.join(self.dir, name)

    def case(self, name, args, expect=(2,), timeout=120, names=None, check=None, env=None,
             stdin=None):
        """Registers a run of `cardiotwin ARGS...` (global options may come first).
        expect: allowed exit codes (0 means a correct result; give check for it).
        names: the text an error line must hold (default: the first input path in args that
        exists, i.e. the hostile input itself); None to derive it, '' to not check.
        check: callable(workdir, stdout, stderr) -> None if the result is right, else a reason;
        called only after exit 0."""
        if names is None:
            names = ''
            for a in args:
                if a.startswith(self.dir) and os.path.lexists(a):
                    names = a
                    break
        self.cases.append(Case(self.family, name, list(args), set(expect), timeout, names,
                               check, env, stdin))


def load_generators(families):
    gens = []
    for fn in sorted(os.listdir(HERE)):
        m = re.match(r'gen_(\w+)\.py$', fn)
        if not m or (families and m.group(1) not in families):
            continue
        spec = importlib.util.spec_from_file_location('gen_' + m.group(1), os.path.join(HERE, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        gens.append((m.group(1), mod))
    return gens


def run_case(c, ctw, root, salt):
    work = tempfile.mkdtemp(prefix='w-', dir=root)
    env = dict(os.environ)
    env['CTW_SALT_FILE'] = salt
    env.update(c.env or {})
    t0 = time.monotonic()
    # a process group of its own, so a hang is ended with everything it started
    p = subprocess.Popen([ctw] + c.args, cwd=work, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.PIPE if c.stdin else
                         subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = p.communicate(input=c.stdin, timeout=c.timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return ('hang', 'no exit within %d s' % c.timeout, time.monotonic() - t0)
    dt = time.monotonic() - t0
    err = err.decode('utf-8', 'replace')
    out = out.decode('utf-8', 'replace')
    tail = ' | '.join(err.strip().splitlines()[-3:])
    if rc < 0 or rc >= 128:
        return ('crash', 'signal %d: %s' % (-rc if rc < 0 else rc - 128, tail), dt)
    if rc == 4:
        return ('crash', 'exit 4 (internal error): %s' % tail, dt)
    if 'runtime error:' in err or 'AddressSanitizer' in err or 'LeakSanitizer' in err:
        return ('crash', 'sanitizer: %s' % tail, dt)
    if rc not in c.expect:
        return ('exit', 'exit %d, expected %s: %s' % (rc, sorted(c.expect), tail), dt)
    if rc != 0:
        lines = [l for l in err.splitlines() if l.startswith('cardiotwin: error: ')]
        if not lines:
            return ('message', 'exit %d without a "cardiotwin: error:" line: %s' % (rc, tail), dt)
        if c.names and not any(c.names in l for l in lines):
            return ('message', 'error does not name %s: %s' % (c.names, lines[-1]), dt)
    elif c.check:
        why = c.check(work, out, err)
        if why:
            return ('wrong', why, dt)
    shutil.rmtree(work, ignore_errors=True)
    return ('ok', 'exit %d' % rc, dt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--family', action='append', default=[])
    ap.add_argument('--list', action='store_true')
    ap.add_argument('--keep')
    ap.add_argument('-j', type=int, default=int(os.environ.get('CTW_HOSTILE_JOBS', '2')))
    a = ap.parse_args()
    ctw = os.environ.get('CTW')
    data = os.environ.get('CTW_DATA', os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
    if not ctw:
        sys.exit('run.py: set CTW to the program')
    root = a.keep or tempfile.mkdtemp(prefix='ctw_hostile.')
    os.makedirs(root, exist_ok=True)
    salt = os.path.join(root, 'salt')
    with open(salt, 'wb') as f:
        f.write(os.urandom(32))
    cases = []
    for fam, mod in load_generators(a.family):
        g = Gen(fam, root, data, ctw)
        mod.generate(g)
        cases += g.cases
    if a.list:
        for c in cases:
            print('%s/%s: %s expect %s' % (c.family, c.name, ' '.join(c.args), sorted(c.expect)))
        return 0
    counts = {}
    bad = []
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.j)) as ex:
        futs = {ex.submit(run_case, c, ctw, root, salt): c for c in cases}
        for f in concurrent.futures.as_completed(futs):
            c = futs[f]
            kind, why, dt = f.result()
            n = counts.setdefault(c.family, {})
            n[kind] = n.get(kind, 0) + 1
            if kind != 'ok':
                bad.append('%s %s/%s (%.1f s): %s\n    cardiotwin %s' %
                           (kind.upper(), c.family, c.name, dt, why, ' '.join(c.args)))
    for fam in sorted(counts):
        n = counts[fam]
        print('%-10s %4d inputs: %s' % (fam, sum(n.values()),
                                        ', '.join('%s %d' % kv for kv in sorted(n.items()))))
    print('total      %4d inputs in %.0f s' % (len(cases), time.monotonic() - t0))
    for b in sorted(bad):
        print(b, file=sys.stderr)
    if not a.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
