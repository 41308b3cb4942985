"""Hostile command lines (issue 12 items 13, 14, 17): every command with an unknown option, a
missing value, bad numbers (abc, nan, inf, -1, 1e308), bare and wrong -o names, paths with
spaces, unicode and a leading dash. Usage errors are exit 1 with a `cardiotwin: error:` line
naming the option; a bare -o NAME writes NAME in the working directory."""
import os
import shutil
import subprocess

BAD_NUMBERS = ['abc', 'nan', 'inf', '-1', '1e308', '']


def exists(*names):
    def check(work, out, err):
        for n in names:
            if not os.path.exists(os.path.join(work, n)):
                return '%s not written in the working directory' % n
        return None
    return check


def stdout_has(text):
    def check(work, out, err):
        return None if text in out else 'stdout lacks %r' % text
    return check


def generate(g):
    ph = g.path('ph')
    subprocess.run([g.ctw, '-q', 'phantom', '--kind', 'lv', '--spacing', '4', '-o', ph], check=True,
                   stdout=subprocess.DEVNULL, env=dict(os.environ, CTW_SALT_FILE=os.devnull))
    img, lab, dcm = ph + '/image.nii.gz', ph + '/labels.nii.gz', ph + '/dicom'
    base = {
        'info': ['info', img],
        'convert': ['convert', img, '-o', 'o.nii.gz'],
        'contours': ['contours', '--dicom', dcm, '--contours', g.dir, '-o', 'o.nii.gz'],
        'segment': ['segment', '--labels', lab, '--preset', 'canonical', '-o', 'o.nii.gz'],
        'evaluate': ['evaluate', '--ref', lab, '--test', lab],
        'mesh': ['mesh', '--labels', lab, '--model', 'lv', '-o', 'm'],
        'fibers': ['fibers', '--mesh', g.path('nomesh'), '-o', 'f'],
        'export': ['export', '--mesh', g.path('nomesh'), '-o', 'p'],
        'run': ['run', '--phantom', 'lv', '-o', 'r'],
        'verify': ['verify', g.path('nopkg')],
        'phantom': ['phantom', '--kind', 'lv', '-o', 'x'],
    }
    # 1. an unknown option and an option without its value, for every command
    for cmd, args in base.items():
        g.case('%s-unknown-option' % cmd, args + ['--bogus'], expect=(1,), names='--bogus')
        g.case('%s-help-help' % cmd, ['help', cmd], expect=(0,), check=stdout_has('usage: cardiotwin ' + cmd))
    for cmd, opt in [('convert', '--series'), ('contours', '--phase'), ('segment', '--iso'), ('evaluate', '--labels'),
                     ('mesh', '--edge-length'), ('fibers', '--alpha-endo'), ('export', '--formats'), ('run', '--from'),
                     ('phantom', '--spacing')]:
        g.case('%s-missing-value' % cmd, base[cmd] + [opt], expect=(1,), names=opt)
    # 2. bad numbers: every one is outside the option's range or no number
    for cmd, opt in [('phantom', '--spacing'), ('phantom', '--seed'), ('segment', '--pad'), ('mesh', '--edge-length'),
                     ('mesh', '--smooth'), ('run', '--edge-length'), ('run', '--iso')]:
        for v in BAD_NUMBERS:
            g.case('%s%s=%s' % (cmd, opt, v or 'empty'), base[cmd] + [opt, v], expect=(1,), names=opt)
    for v in ['abc', 'nan', '-1', '1e308']:
        g.case('global-timeout=%s' % v, ['--timeout', v] + base['info'], expect=(1,), names='--timeout')
        g.case('global-max-voxels=%s' % v, ['--max-voxels', v] + base['info'], expect=(1,), names='--max-voxels')
    g.case('fibers-tolerance-inf', base['fibers'] + ['--tolerance', 'inf'], expect=(1,), names='--tolerance')
    g.case('fibers-rv-angles-3', base['fibers'] + ['--rv-angles', '1,2,3'], expect=(1,), names='--rv-angles')
    g.case('fibers-precond-x', base['fibers'] + ['--precond', 'x'], expect=(1,), names='--precond')
    g.case('run-from-x', base['run'] + ['--from', 'x'], expect=(1,), names='--from')
    g.case('run-spacing-without-phantom', ['run', '--image', img, '--labels', lab, '--spacing', '2', '-o', 'r'],
           expect=(1,), names='--spacing')
    # 3. bare -o names work (issue 12 item 13)
    g.case('bare-convert', ['convert', img, '-o', 'o.nii.gz'], expect=(0,), check=exists('o.nii.gz', 'o.json'))
    g.case('bare-convert-dicom', ['convert', dcm, '-o', 'o.nii'], expect=(0,), check=exists('o.nii', 'o.json'))
    g.case('bare-segment', base['segment'], expect=(0,), check=exists('o.nii.gz', 'o.log'))
    g.case('bare-phantom', ['phantom', '--kind', 'lv', '--spacing', '4', '-o', 'x'], expect=(0,),
           check=exists('x/labels.nii.gz', 'x/dicom'))
    # 4. wrong -o extensions say which are accepted
    for cmd in ['convert', 'contours', 'segment']:
        for ext in ['txt', 'nrrd', 'nii.gz.tmp']:
            a = [x if x != 'o.nii.gz' else 'o.' + ext for x in base[cmd]]
            g.case('%s-ext-%s' % (cmd, ext), a, expect=(1,), names='.nii.gz or .nii')
    # 5. paths with spaces, unicode, a leading dash
    for name in ['a b.nii.gz', 'h\u00e9art \u5fc3.nii.gz', '-dash.nii.gz']:
        p = g.path(name)
        shutil.copy(img, p)
        g.case('info-%s' % name, ['info', p], expect=(0,), check=stdout_has('size: 39 35 36'))
        g.case('convert-to-%s' % name, ['convert', p, '-o', name.replace('.nii.gz', '.nii')], expect=(0,),
               check=exists(name.replace('.nii.gz', '.nii')))
    g.case('info-leading-dash-bare', ['info', '-dash.nii.gz'], expect=(1,), names='-dash.nii.gz')
    # 6. missing inputs and outputs in missing directories: exit 2 naming the file
    g.case('info-missing', ['info', g.path('nosuch.nii.gz')], names=g.path('nosuch.nii.gz'))
    g.case('verify-missing', ['verify', g.path('nopkg')], names=g.path('nopkg'))
    g.case('convert-into-missing-dir', ['convert', img, '-o', 'nodir/o.nii.gz'], names='nodir/o.nii.gz')
    g.case('help-unknown', ['help', 'nosuch'], expect=(1,), names='nosuch')
    g.case('unknown-command', ['nosuch'], expect=(1,), names='nosuch')
