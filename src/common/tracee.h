/* tracee.h - reading another process (a tracee of `trace`, a supervised
 * process of `run`): its memory and its /proc entries. */
#ifndef SGXPY_TRACEE_H
#define SGXPY_TRACEE_H

#include <stdint.h>
#include <sys/types.h>

/* Read a NUL-terminated string at addr into buf (len bytes at most, the NUL
 * included), page by page with process_vm_readv, so a string ending just
 * before an unmapped page still reads.  0, or -1 with errno (ENAMETOOLONG if
 * no NUL within len, else the read's error). */
int tracee_read_string_buf(pid_t tid, uint64_t addr, char *buf, size_t len);
/* The same, malloc'd, at most PATH_MAX bytes; NULL on failure. */
char *tracee_read_string(pid_t tid, uint64_t addr);
/* The same into a malloc'd buffer that grows as needed, up to max bytes with
 * the NUL (an exec's argument: MAX_ARG_STRLEN); NULL with errno. */
char *tracee_read_string_max(pid_t tid, uint64_t addr, size_t max);
/* Read exactly len bytes; 0 or -1. */
int tracee_read(pid_t tid, uint64_t addr, void *buf, size_t len);

/* readlink("/proc/TID/<what>"), malloc'd, NULL on failure and for a target
 * the kernel marks "(deleted)" (removed: no path names it any more).
 * what: "cwd", "exe", "fd/N", "root". */
char *proc_link(pid_t tid, const char *what);
char *proc_fd_path(pid_t tid, int fd);

/* The whole of /proc/PID/<what> ("cmdline", "environ", "status"), malloc'd
 * and NUL-terminated; 0, or -1 (no error message: the caller says what). */
int proc_read_file(pid_t pid, const char *what, char **data, size_t *len);

/* /proc/PID/cmdline as a JSON array, /proc/PID/environ as a JSON object
 * (malloc'd, NULL if unreadable). */
char *proc_cmdline_json(pid_t pid);
char *proc_environ_json(pid_t pid);

/* A number field of /proc/TID/status ("Tgid", "PPid", "VmHWM"); -1 if absent. */
long proc_status_field(pid_t tid, const char *field);
/* The text after "Field:" in /proc status text already read, or NULL. */
const char *status_text_field(const char *status, const char *field);

#endif
