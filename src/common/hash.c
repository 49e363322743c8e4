/* hash.c - see hash.h.
 *
 * Throughput matters (the manifest stage hashes every trusted file):
 *   - files are read in 256 KiB blocks into a per-thread buffer that stays in
 *     L2 between the copy and the hash (measured faster than 1 MiB blocks;
 *     mmap measured no faster with two threads, and a file truncated while
 *     mapped would kill us with SIGBUS);
 *   - the SHA-256 implementation is fetched once (OpenSSL 3 otherwise looks
 *     it up at every init);
 *   - a first pass, spread over the threads, stats every file (the inode
 *     for de-duplication, the size for ordering); it does not keep the files
 *     open: past 64, 128, 256 open files a multithreaded process grows its
 *     fd table under synchronize_rcu(), 10-20 ms each time;
 *   - files go to threads largest first, so one big .so does not end last.
 * Where the time goes (perf, NumPy trace, one thread): the SHA-NI rounds
 * themselves run at `openssl speed`; the rest, about a quarter, is the kernel
 * handing over page-cache bytes (copy_to_iter alone 14%), which a mapping
 * replaces with page-table work of about the same cost. */
#include "common/hash.h"
#include "common/strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define BLOCK (1u << 18)

static EVP_MD *sha256_md;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void fetch_md(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256_md) {
		fputs("sgxpy: OpenSSL has no SHA-256\n", stderr);
		abort();
	}
}

static const EVP_MD *md(void)
{
	pthread_once(&md_once, fetch_md);
	return sha256_md;
}

__attribute__((destructor)) static void free_md(void)
{
	EVP_MD_free(sha256_md);
	sha256_md = NULL;
}

static EVP_MD_CTX *new_ctx(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, md(), NULL)) {
		fputs("sgxpy: OpenSSL cannot start SHA-256\n", stderr);
		abort();
	}
	return ctx;
}

void sha256_buf(const void *data, size_t len, unsigned char out[SHA256_LEN])
{
	EVP_MD_CTX *ctx = new_ctx();
	EVP_DigestUpdate(ctx, data, len);
	EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
}

/* The loop shared by sha256_fd and the workers: the whole file from offset 0
 * with pread (the file offset stays where it is: the supervisor hands this
 * very fd to a process, which expects 0), into a caller-owned buffer.
 * known_size > 0: the size fstat gave; the last read asks for one byte more,
 * so a short read ends the file without a final read of 0 bytes (a fifth of
 * the system calls for the small .py/.pyc files that dominate Python apps). */
static int hash_fd_buf(int fd, EVP_MD_CTX *ctx, unsigned char *buf, size_t buf_len,
		       uint64_t known_size, unsigned char out[SHA256_LEN], uint64_t *size)
{
	uint64_t total = 0;
	EVP_DigestInit_ex(ctx, md(), NULL);
	for (;;) {
		size_t want = known_size && known_size >= total && known_size - total < buf_len
				      ? (size_t)(known_size - total) + 1 : buf_len;
		ssize_t r = TEMP_FAILURE_RETRY(pread(fd, buf, want, (off_t)total));
		if (r < 0)
			return -1;
		EVP_DigestUpdate(ctx, buf, (size_t)r);
		total += (uint64_t)r;
		if (r == 0 || (known_size && (size_t)r < want))
			break;
	}
	EVP_DigestFinal_ex(ctx, out, NULL);
	if (size)
		*size = total;
	return 0;
}

#define SMALL (1u << 16) /* on the stack: no malloc per supervisor open */

int sha256_fd(int fd, uint64_t st_size, unsigned char out[SHA256_LEN], uint64_t *size)
{
	unsigned char buf[SMALL];
	EVP_MD_CTX *ctx = new_ctx();
	int rc = hash_fd_buf(fd, ctx, buf, sizeof(buf), st_size, out, size);
	int saved = errno;
	EVP_MD_CTX_free(ctx);
	errno = saved;
	return rc;
}

static int not_regular_errno(mode_t mode)
{
	return S_ISDIR(mode) ? EISDIR : EINVAL;
}

/* Open a regular file for hashing; -1 with errno (EINVAL: not regular). */
static int open_regular(const char *path, uint64_t *st_size)
{
	/* O_NONBLOCK: a FIFO planted at a trusted path must not hang us. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = not_regular_errno(st.st_mode);
		close(fd);
		errno = e;
		return -1;
	}
	*st_size = (uint64_t)st.st_size;
	return fd;
}

int sha256_path(const char *path, unsigned char out[SHA256_LEN], uint64_t *size,
		struct sg_err *err)
{
	uint64_t st_size;
	cleanup_fd int fd = open_regular(path, &st_size);
	if (fd < 0) {
		if (errno == EINVAL)
			return sg_fail(err, "%s: not a regular file", path);
		return sg_fail_errno(err, "cannot open %s", path);
	}
	if (sha256_fd(fd, st_size, out, size) < 0)
		return sg_fail_errno(err, "cannot read %s", path);
	return 0;
}

/* ---- parallel hasher ---- */

/* The first pass over one job: a stat, to find duplicates and sizes. */
struct statted {
	int status; /* 0, or the errno that ends this job */
	struct stat st;
};

struct order {
	struct hash_job *job;
	uint64_t size;
};

/* Two phases, both spread over the threads: stat every job, then (once the
 * planning thread has removed duplicate inodes and sorted by size) hash
 * every distinct file, largest first. */
struct pool {
	struct hash_job *jobs;
	size_t n_jobs;
	struct statted *statted;
	atomic_size_t next_stat, n_statted;
	pthread_mutex_t mu;
	pthread_cond_t planned_cv;
	bool planned;
	struct order *uniq; /* one per distinct file, largest first */
	size_t n;
	size_t *leader;     /* job -> the job whose hash it shares, SIZE_MAX: failed */
	atomic_size_t next, done;
	const char *what;
	pthread_t drawer; /* the one thread that prints progress and plans */
	atomic_uint_fast64_t cpu_ns; /* CPU time the workers used */
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void stat_job(const char *path, struct statted *o)
{
	if (stat(path, &o->st) < 0)
		o->status = errno;
	else
		o->status = S_ISREG(o->st.st_mode) ? 0 : not_regular_errno(o->st.st_mode);
}

static void stat_all(struct pool *p)
{
	for (;;) {
		size_t i = atomic_fetch_add(&p->next_stat, 1);
		if (i >= p->n_jobs)
			return;
		stat_job(p->jobs[i].path, &p->statted[i]);
		atomic_fetch_add(&p->n_statted, 1);
	}
}

static int by_size_desc(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return strcmp(x->job->path, y->job->path);
}

/* Map each job to the first job naming the same (dev, ino); order the
 * distinct files largest first, so that one big .so does not end last. */
static void plan(struct pool *p)
{
	struct strmap seen = {0};
	for (size_t i = 0; i < p->n_jobs; i++) {
		struct statted *o = &p->statted[i];
		p->leader[i] = i;
		if (o->status) {
			p->jobs[i].status = o->status;
			p->leader[i] = SIZE_MAX;
			continue;
		}
		char key[64];
		snprintf(key, sizeof(key), "%llx:%llx", (unsigned long long)o->st.st_dev,
			 (unsigned long long)o->st.st_ino);
		int added;
		void **slot = strmap_put(&seen, key, &added);
		if (!added) {
			p->leader[i] = (size_t)(uintptr_t)*slot;
			continue;
		}
		*slot = (void *)(uintptr_t)i;
		p->uniq[p->n++] = (struct order){&p->jobs[i], (uint64_t)o->st.st_size};
	}
	strmap_free(&seen);
	qsort(p->uniq, p->n, sizeof(*p->uniq), by_size_desc);
}

static void wait_for_plan(struct pool *p)
{
	bool planner = pthread_equal(pthread_self(), p->drawer);
	pthread_mutex_lock(&p->mu);
	if (planner) {
		/* Every job was handed out; wait for the last stats to finish. */
		while (atomic_load(&p->n_statted) < p->n_jobs) {
			pthread_mutex_unlock(&p->mu);
			sched_yield();
			pthread_mutex_lock(&p->mu);
		}
		plan(p);
		p->planned = true;
		pthread_cond_broadcast(&p->planned_cv);
	}
	while (!p->planned)
		pthread_cond_wait(&p->planned_cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

static void hash_all(struct pool *p, EVP_MD_CTX *ctx, unsigned char *buf)
{
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n)
			break;
		struct hash_job *j = p->uniq[i].job;
		uint64_t st_size = 0;
		int fd = open_regular(j->path, &st_size);
		if (fd < 0) {
			j->status = errno;
		} else if (j->sized && st_size != j->expect_size) {
			j->status = 0;
			j->size = st_size;
			memset(j->sha256, 0, sizeof(j->sha256));
			close(fd);
		} else {
			j->status = hash_fd_buf(fd, ctx, buf, BLOCK, st_size, j->sha256, &j->size) < 0 ? errno : 0;
			close(fd);
		}
		size_t d = atomic_fetch_add(&p->done, 1) + 1;
		/* Only one thread draws, often enough to move, rarely enough to cost nothing. */
		if (pthread_equal(pthread_self(), p->drawer) && (d % 16 == 0 || d == p->n))
			progress(p->what, d, p->n);
	}
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	uint64_t cpu0 = thread_cpu_ns();
	EVP_MD_CTX *ctx = new_ctx();
	unsigned char *buf = xmalloc(BLOCK);
	stat_all(p);
	wait_for_plan(p);
	hash_all(p, ctx, buf);
	free(buf);
	EVP_MD_CTX_free(ctx);
	atomic_fetch_add(&p->cpu_ns, thread_cpu_ns() - cpu0);
	return NULL;
}

static struct hash_stats last_stats;

void hash_last_stats(struct hash_stats *out)
{
	*out = last_stats;
}

static double now_seconds(void)
{
	return (double)mono_ns() / 1e9;
}

int hash_files(struct hash_job *jobs, size_t n, unsigned threads, const char *what,
	       struct sg_err *err)
{
	double t0 = now_seconds();
	struct pool p = {.jobs = jobs, .n_jobs = n, .what = what, .drawer = pthread_self()};
	p.statted = xcalloc(n ? n : 1, sizeof(*p.statted));
	p.uniq = xmalloc((n ? n : 1) * sizeof(*p.uniq));
	p.leader = xmalloc((n ? n : 1) * sizeof(*p.leader));
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.planned_cv, NULL);
	atomic_init(&p.next_stat, 0);
	atomic_init(&p.n_statted, 0);
	atomic_init(&p.next, 0);
	atomic_init(&p.done, 0);
	atomic_init(&p.cpu_ns, 0);

	if (!threads) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		threads = c > 0 ? (unsigned)c : 1;
	}
	if (threads > n)
		threads = n ? (unsigned)n : 1;
	pthread_t *tids = xcalloc(threads, sizeof(*tids));
	unsigned started = 0;
	int rc = 0;
	for (; started + 1 < threads; started++) {
		if ((errno = pthread_create(&tids[started], NULL, worker, &p)) != 0) {
			rc = sg_fail_errno(err, "cannot start a hashing thread");
			break;
		}
	}
	worker(&p); /* the calling thread works too, and plans */
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	progress_done();

	uint64_t bytes = 0;
	for (size_t i = 0; i < p.n; i++) /* the calling thread's worker() drained them all */
		if (p.uniq[i].job->status == 0 && !(p.uniq[i].job->sized &&
						      p.uniq[i].job->size != p.uniq[i].job->expect_size))
			bytes += p.uniq[i].job->size;
	for (size_t i = 0; i < n; i++) {
		if (p.leader[i] == SIZE_MAX || p.leader[i] == i)
			continue;
		struct hash_job *l = &jobs[p.leader[i]];
		jobs[i].status = l->status;
		jobs[i].size = l->size;
		memcpy(jobs[i].sha256, l->sha256, SHA256_LEN);
	}
	last_stats = (struct hash_stats){.files = p.n, .bytes = bytes, .seconds = now_seconds() - t0,
					 .cpu_seconds = (double)atomic_load(&p.cpu_ns) / 1e9};
	free(p.statted);
	free(p.uniq);
	free(p.leader);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.planned_cv);
	return rc;
}
