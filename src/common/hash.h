/* hash.h - SHA-256 of buffers, fds and paths (OpenSSL EVP, which uses SHA-NI
 * where the CPU has it), and a parallel hasher for many files at once.
 *
 * Shared by the manifest builder, verify and the supervisor: the supervisor
 * hashes the very fd it is about to hand to the tracee (sha256_fd), so there is
 * no check-then-open race on the path. */
#ifndef SGXPY_HASH_H
#define SGXPY_HASH_H

#include "common/util.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

/* Hash a memory buffer.  Never fails (aborts on an OpenSSL failure, which
 * only happens when the library is broken). */
void sha256_buf(const void *data, size_t len, unsigned char out[SHA256_LEN]);

/* Hash the whole file open at fd, from offset 0 with pread: the file offset
 * is left alone (the supervisor hands this very fd to a process, which
 * expects offset 0).  st_size: what fstat said (a short read then ends the
 * file without a last read of 0 bytes), or 0 if unknown.  *size (may be NULL)
 * gets the number of bytes hashed.  Returns 0, or -1 with errno set by the
 * failing read. */
int sha256_fd(int fd, uint64_t st_size, unsigned char out[SHA256_LEN], uint64_t *size);

/* Open path (following symlinks, O_NOCTTY, never blocking on a FIFO), check it
 * is a regular file, and hash it.  Fills err naming the path. */
int sha256_path(const char *path, unsigned char out[SHA256_LEN], uint64_t *size,
		struct sg_err *err);

/* One file for hash_files(). */
struct hash_job {
	const char *path;       /* in: the caller's string, not copied */
	int status;             /* out: 0 hashed, else an errno (ENOENT missing,
				 * EISDIR/EINVAL not a regular file, ...) */
	uint64_t size;          /* out: bytes hashed */
	unsigned char sha256[SHA256_LEN];
	/* in: when set, a file of another size is not read: size says its
	 * size, sha256 stays zero (verify: it differs either way, and a huge
	 * sparse file planted there must not cost a full read) */
	bool sized;
	uint64_t expect_size;
};

/* Hash all jobs on `threads` threads (0: one per online CPU).  Each distinct
 * file (same device and inode) is read once even when several jobs name it
 * (a symlink and its target).  Shows progress labelled `what` on a terminal.
 * Per-file failures go to job->status; the call itself only fails when a
 * thread cannot be started. */
int hash_files(struct hash_job *jobs, size_t n, unsigned threads, const char *what,
	       struct sg_err *err);

/* Statistics of the last hash_files() call, for benchmarks. */
struct hash_stats {
	uint64_t files, bytes;
	double seconds;     /* wall time of the call */
	double cpu_seconds; /* CPU time of all hashing threads together */
};
void hash_last_stats(struct hash_stats *out);

#endif
