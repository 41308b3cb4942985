"""Hostile case files for `run` (issue 12 item 14; cases/case.xsd): every stage attribute out
of range, of the wrong type, empty or huge; unknown elements and attributes; entities (internal,
external file://, parameter, billion laughs), DOCTYPEs, wrong encodings, truncations; input paths
that are /dev/zero, a FIFO, a directory or missing. Each is exit 2 naming the case file, with
its line where the problem is in the file; nothing is expanded, loaded or read from the entity
targets (the external entity's file holds a value that would be valid)."""
import os

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
# the stage elements' lines in the template below (DOCTYPE-less)
TEMPLATE = ('{head}{doctype}<case id="c">\n'            # 2
            '  <input>\n'                               # 3
            '    {input}\n'                             # 4
            '  </input>\n'                              # 5
            '  <model>lv</model>\n'                     # 6
            '  <segment {seg}/>\n'                      # 7
            '  <mesh {mesh}/>\n'                        # 8
            '  <fibers {fib}/>\n'                       # 9
            '</case>\n')
LINE = {'input': 4, 'segment': 7, 'mesh': 8, 'fibers': 9}

# attribute, stage, values all outside the command's range or of the wrong type
BAD = [
    ('spacing', 'input', ['0', '5.5', 'abc', '', '1e308', '-1']),
    ('noise', 'input', ['-1', '1e99999', 'x']),
    ('seed', 'input', ['-1', 'abc', '99999999999999999999999']),
    ('iso', 'segment', ['21', '-1', 'abc', 'nan']),
    ('sigma', 'segment', ['21', '-1', 'inf', '']),
    ('rv-wall', 'segment', ['100', '-0.5']),
    ('min-wall', 'segment', ['21', '-3']),
    ('pad', 'segment', ['101', '-1', '1.5', '18446744073709551616']),
    ('no-components', 'segment', ['yes', '2']),
    ('edge-length', 'mesh', ['0', '0.01', '51', '1e308', '-1', 'abc', '']),
    ('smooth', 'mesh', ['1001', '-1', '2.5', '99999999999999999999']),
    ('radius-edge', 'mesh', ['1', '11', 'abc']),
    ('min-dihedral', 'mesh', ['26', '-1']),
    ('timeout', 'mesh', ['-1', '1e7000', 'soon']),
    ('mode', 'fibers', ['fast', '']),
    ('alpha-endo', 'fibers', ['1000001', '-1000001', 'abc']),
    ('rv-angles', 'fibers', ['1,2,3', '1,2,3,4,5', 'a,b,c,d']),
    ('tolerance', 'fibers', ['NaN', 'INF', '0', '1', '-1e-5']),
    ('precond', 'fibers', ['ilu']),
    ('threads', 'fibers', ['65', '-1', 'many']),
]


def write(path, text, encoding='utf-8'):
    with open(path, 'wb') as f:
        f.write(text.encode(encoding) if isinstance(text, str) else text)
    return path


def case_text(input_='<phantom kind="lv" spacing="4"/>', seg='', mesh='', fib='', head=HEAD, doctype=''):
    return TEMPLATE.format(head=head, doctype=doctype, input=input_, seg=seg, mesh=mesh, fib=fib)


def generate(g):
    n = [0]

    def add(name, text, line=None, expect=(2,), args=None, encoding='utf-8', names=None):
        n[0] += 1
        p = write(g.path('%03d-%s.xml' % (n[0], name)), text, encoding)
        if names is None:
            names = '%s:%d' % (p, line) if line else p
        g.case(name, ['--timeout', '60', 'run', p, '-o', 'out'] + (args or []), expect=expect, names=names,
               timeout=120)

    # 1. every attribute out of range / wrong type / empty / huge
    for attr, stage, values in BAD:
        for v in values:
            a = '%s="%s"' % (attr, v)
            if stage == 'input':
                t = case_text(input_='<phantom kind="lv" %s/>' % a)
            else:
                t = case_text(**{{'segment': 'seg', 'mesh': 'mesh', 'fibers': 'fib'}[stage]: a})
            add('%s-%s=%s' % (stage, attr, v[:12] or 'empty'), t, LINE[stage])
    # 2. unknown elements and attributes, wrong structure
    add('unknown-attr', case_text(mesh='edge-lenght="2"'), LINE['mesh'])
    add('unknown-element', case_text().replace('  <model>', '  <bogus/>\n  <model>'), 6)
    add('no-model', case_text().replace('  <model>lv</model>\n', ''), None)
    add('model-xx', case_text().replace('>lv<', '>xx<'), 6)
    add('bad-id', case_text().replace('id="c"', 'id="1 drop"'), 2)
    add('two-inputs', case_text(input_='<phantom kind="lv"/><phantom kind="biv"/>'), LINE['input'])
    add('root-not-case', HEAD + '<cases id="c"/>\n', 2)
    add('empty-file', '', None)
    add('not-xml', 'edge-length=2\n', None)
    # 3. entities and DOCTYPEs: never expanded or loaded
    secret = write(g.path('secret.txt'), '2')
    ent = [('internal', '<!DOCTYPE case [<!ENTITY e "2">]>\n', 'edge-length="&e;"'),
           ('external-file', '<!DOCTYPE case [<!ENTITY e SYSTEM "file://%s">]>\n' % secret, 'edge-length="&e;"'),
           ('external-relative', '<!DOCTYPE case [<!ENTITY e SYSTEM "secret.txt">]>\n', 'edge-length="&e;"'),
           ('external-http', '<!DOCTYPE case [<!ENTITY e SYSTEM "http://127.0.0.1:9/x">]>\n', 'edge-length="&e;"'),
           ('parameter', '<!DOCTYPE case [<!ENTITY %% p SYSTEM "file://%s"> %%p;]>\n' % secret, 'edge-length="2"'),
           ('billion-laughs', '<!DOCTYPE case [<!ENTITY a "2"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
            '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>\n',
            'edge-length="&f;"'),
           ('doctype-only', '<!DOCTYPE case>\n', 'edge-length="2"'),
           ('doctype-system', '<!DOCTYPE case SYSTEM "file:///etc/passwd">\n', 'edge-length="2"'),
           ('external-dev-zero', '<!DOCTYPE case [<!ENTITY e SYSTEM "file:///dev/zero">]>\n', 'edge-length="&e;"')]
    for name, dt, a in ent:
        # the line of the DOCTYPE (2) or of the reference (9): the file, not one line, is pinned
        add('entity-' + name, case_text(mesh=a, doctype=dt), None)
    add('entity-undefined', case_text(mesh='edge-length="&e;"'), LINE['mesh'])
    add('entity-charref-ok-but-range', case_text(mesh='edge-length="&#49;&#48;&#48;"'), LINE['mesh'])
    # 4. encodings and truncations
    add('encoding-utf16-decl', case_text(head='<?xml version="1.0" encoding="UTF-16"?>\n'), None)
    add('encoding-latin1-bytes', case_text(head=HEAD).replace('id="c"', 'id="c\u00e9"'), 2, encoding='latin-1')
    add('encoding-unknown', case_text(head='<?xml version="1.0" encoding="X-NOSUCH"?>\n'), None)
    add('nul-byte', case_text().encode() .replace(b'<model>', b'<model>\0'), None)
    full = case_text(mesh='edge-length="4"')
    for cut in [10, 40, 60, 90, 120, len(full) - 30, len(full) - 3]:
        add('truncated-%d' % cut, full[:cut], None)
    # 5. input paths that are no regular file: exit 2 with the line of the element
    fifo = g.path('fifo.nii.gz')
    os.mkfifo(fifo)
    os.makedirs(g.path('adir.nii.gz'), exist_ok=True)
    for name, p in [('dev-zero', '/dev/zero'), ('fifo', fifo), ('directory', g.path('adir.nii.gz')),
                    ('missing', g.path('nosuch.nii.gz')), ('dev-null', '/dev/null')]:
        add('labels-' + name, case_text(input_='<image path="%s"/>\n    <labels path="%s"/>' % (g.path('secret.txt'), p)),
            LINE['input'] + 1)
    add('image-missing', case_text(input_='<image path="nosuch-image"/>\n    <labels path="secret.txt"/>'),
        LINE['input'])
    add('contours-not-dir', case_text(input_='<image path="%s"/>\n    <contours dir="secret.txt"/>' % g.dir),
        LINE['input'] + 1)
    add('image-dev-zero', case_text(input_='<image path="/dev/zero"/>\n    <contours dir="%s"/>' % g.dir),
        LINE['input'])
    # 6. the case file itself missing, a directory, a FIFO
    g.case('casefile-missing', ['run', g.path('nosuch.xml'), '-o', 'out'], names=g.path('nosuch.xml'))
    os.makedirs(g.path('dir.xml'), exist_ok=True)
    g.case('casefile-directory', ['run', g.path('dir.xml'), '-o', 'out'], names=g.path('dir.xml'))
    os.mkfifo(g.path('fifo.xml'))
    g.case('casefile-fifo', ['--timeout', '60', 'run', g.path('fifo.xml'), '-o', 'out'], names=g.path('fifo.xml'),
           timeout=90)
    # 7. the command line overrides a bad value of the case file (not checked then); --from x
    # keeps the run from starting (exit 1 naming --from)
    add('override-then-bad-from', case_text(mesh='edge-length="100"'), None, expect=(1,),
        args=['--edge-length', '4', '--from', 'x'], names='--from')
