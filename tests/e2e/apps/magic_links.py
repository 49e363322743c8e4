"""Opens through magic links, for the path-resolution tests.

    /usr/bin/python3 magic_links.py FILE      (stdin redirected from some file)

Opens FILE, then the same file again through /proc/self/fd/N, then /dev/stdin
(-> /proc/self/fd/0 -> whatever stdin is), then /proc/self/fd/99 (not open:
ENOENT).  Prints "magic_links: FD PID ERRNO99".  Only this process knows what
its fds and its "self" are: a tracer resolving these names in its own context
gets them wrong.
"""
import os
import sys

f = open(sys.argv[1])
fd = f.fileno()
with open("/proc/self/fd/%d" % fd) as g:
    g.read()
with open("/dev/stdin") as h:
    h.read()
try:
    os.open("/proc/self/fd/99", os.O_RDONLY)
    e99 = 0
except OSError as e:
    e99 = e.errno
print("magic_links: %d %d %d" % (fd, os.getpid(), e99))
