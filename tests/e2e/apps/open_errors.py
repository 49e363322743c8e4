"""Opens that fail in different ways, for the errno tests.

    /usr/bin/python3 open_errors.py DIR

Prints a JSON list of [path, open flags, errno (0 = success)], one per open,
as the kernel reported it to the app.
"""
import errno, json, os, sys
d = sys.argv[1]
os.makedirs(d + "/dir", exist_ok=True)
open(d + "/file", "w").close()
if not os.path.islink(d + "/loop"):
    os.symlink("loop", d + "/loop")
if not os.path.islink(d + "/slink"):
    os.symlink("file", d + "/slink")
cases = [
    ("missing/x", os.O_RDONLY),
    ("file/x", os.O_RDONLY),
    ("loop", os.O_RDONLY),
    ("slink", os.O_RDONLY | os.O_NOFOLLOW),
    ("file", os.O_WRONLY | os.O_CREAT | os.O_EXCL),
    ("dir", os.O_WRONLY),
    ("file", os.O_RDONLY | os.O_DIRECTORY),
    ("dir", os.O_RDONLY),
]
out = []
for name, flags in cases:
    try:
        fd = os.open(d + "/" + name, flags, 0o644); os.close(fd); e = 0
    except OSError as ex:
        e = ex.errno
    out.append([d + "/" + name, flags, e])
print(json.dumps(out))
