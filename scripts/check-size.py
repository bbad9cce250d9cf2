#!/usr/bin/env python3
"""check-size.py [ROOT]: the size limits of issue 17.

- every .c and .h file under src/ has fewer than 1,200 lines;
- plugin/gstfaceverify.c has fewer than 1,000 lines;
- no C function outside tests/ is longer than 120 lines, counted from the
  line of its opening brace to the line of its closing brace.

A function is recognised in GStreamer style: its opening and closing braces
stand alone at column 0 and the lines before the opening brace end with
")" (the return type on its own line, the name at column 0). Prints every
offender and exits 1 if there is one, 0 otherwise.
"""
import os
import re
import subprocess
import sys

MAX_SRC_FILE = 1200
MAX_ELEMENT_FILE = 1000
ELEMENT_FILE = 'plugin/gstfaceverify.c'
MAX_FUNCTION = 120

NAME = re.compile(r'\b([A-Za-z_]\w*)\s*\(')


def tracked_files(root):
    """Files git knows (tracked or untracked but not ignored), else all."""
    try:
        out = subprocess.run(['git', '-C', root, 'ls-files', '--cached',
                              '--others', '--exclude-standard'],
                             check=True, capture_output=True, text=True)
        return [f for f in out.stdout.splitlines()
                if os.path.isfile(os.path.join(root, f))]
    except (OSError, subprocess.CalledProcessError):
        found = []
        for d, dirs, files in os.walk(root):
            dirs[:] = [x for x in dirs
                       if not x.startswith('.') and not x.startswith('build')]
            found += [os.path.relpath(os.path.join(d, f), root)
                      for f in files]
        return found


def function_name(lines, brace):
    """Name of the function whose body opens at line index @brace, or None
    if what precedes the brace is no function header."""
    k = brace - 1
    header = []
    while k >= 0 and lines[k].strip() and not lines[k].startswith('}') \
            and not lines[k].rstrip().endswith(';') \
            and not lines[k].lstrip().startswith('#'):
        header.insert(0, lines[k])
        k -= 1
    if not header or not header[-1].rstrip().endswith(')'):
        return None
    text = ' '.join(header)
    for line in header:
        if line[:1].isalpha() or line[:1] == '_':
            m = NAME.match(line)
            if m:
                return m.group(1)
    m = NAME.search(text)
    return m.group(1) if m else None


def long_functions(path, limit):
    with open(path, encoding='utf-8', errors='replace') as f:
        lines = f.read().split('\n')
    found = []
    i = 0
    while i < len(lines):
        if lines[i].rstrip() == '{':
            name = function_name(lines, i)
            end = i + 1
            while end < len(lines) and not lines[end].startswith('}'):
                end += 1
            n = end - i + 1
            if name and n > limit:
                found.append((i + 1, name, n))
            i = end
        i += 1
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..')
    offenders = []
    for rel in sorted(tracked_files(root)):
        if not rel.endswith(('.c', '.h')):
            continue
        path = os.path.join(root, rel)
        with open(path, encoding='utf-8', errors='replace') as f:
            n_lines = f.read().count('\n')
        if rel.startswith('src/') and n_lines >= MAX_SRC_FILE:
            offenders.append('%s: %d lines (limit: under %d in src/)'
                             % (rel, n_lines, MAX_SRC_FILE))
        if rel == ELEMENT_FILE and n_lines >= MAX_ELEMENT_FILE:
            offenders.append('%s: %d lines (limit: under %d)'
                             % (rel, n_lines, MAX_ELEMENT_FILE))
        if rel.startswith('tests/') or '/tests/' in rel:
            continue
        for line, name, n in long_functions(path, MAX_FUNCTION):
            offenders.append('%s:%d: %s () is %d lines (limit: %d)'
                             % (rel, line, name, n, MAX_FUNCTION))
    for o in offenders:
        print(o)
    if offenders:
        print('check-size: %d offender(s)' % len(offenders), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
