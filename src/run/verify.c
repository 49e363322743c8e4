/* verify.c - content checks: SHA-256 of what the supervisor opened, a per-run
 * verdict cache, hashing ahead of use on worker threads, sealed memfd copies.
 *
 * The cache maps a path to (dev, ino, size, mtime_ns, ctime_ns) and the SHA-256
 * of the bytes read through an fd with that key.  A later open of the same path
 * reuses the hash only if the freshly opened fd has the same key.  What it
 * trusts: that a file's bytes do not change without its ctime changing.  Every
 * write(2), truncate, or writable-mmap flush updates mtime and ctime, and user
 * space cannot set ctime; on Linux >= 6.13 ext4/xfs/btrfs/tmpfs use multigrain
 * timestamps, so a change right after a stat gets a distinct ctime.  A key is
 * stored only if fstat gives the same key before and after hashing.  It does not
 * cover an in-place write racing with the process's own reads of an fd already
 * handed over (use --seal), nor a file system that lies about ctime (FUSE, NFS).
 *
 * Sealed mode: the file is copied into a memfd, sealed (no write, grow, shrink,
 * further seals), and the memfd's bytes are hashed; each open gets its own open
 * file description of that memfd (reopened through /proc/self/fd). */
#include "run/run.h"

#include "common/hash.h"
#include "common/strmap.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>

enum { E_NONE, E_PENDING, E_DONE };

struct centry {
	int state;
	struct file_key key;
	unsigned char sha[32];
	int memfd; /* seal mode: sealed copy, -1 if none */
	uint64_t due_ns; /* E_PENDING: when its hash should be done (mono_ns) */
	bool urgent;     /* E_PENDING by a worker at the app's priority */
};

struct job {
	char *path;
	uint64_t size; /* from the manifest; 0 if unknown */
	bool urgent;   /* the process cannot start before it is hashed */
	struct job *next;
};

/* What hashing n bytes takes here, about (SHA-NI: ~1.5 GB/s). */
static uint64_t hash_ns(uint64_t n)
{
	return n * 2 / 3;
}

struct verifier {
	bool seal;
	pthread_mutex_t mu;
	pthread_cond_t done;   /* an entry left E_PENDING */
	pthread_cond_t work;   /* a job was queued or stop */
	struct strmap cache;   /* path -> struct centry */
	struct strmap trusted; /* "dev:ino" -> struct file_key: verified inodes */
	struct job *head, *tail;
	bool stop;
	int n_threads;
	pthread_t *threads;
	unsigned long hashed, hits, stolen;
	unsigned long long bytes;
	atomic_uint_fast64_t wait_ns; /* summed outside the lock: see lookup_or_hash */
	atomic_bool abandon; /* exiting: a hash in progress may stop half-way */
};

void file_key_of(const struct stat *st, struct file_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = st->st_size;
	k->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	k->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

bool file_key_equal(const struct file_key *a, const struct file_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

/* A truncation racing with a mapped hash raises SIGBUS in the hashing thread:
 * the handler jumps back out of the hash, which then fails (the file changed,
 * so its load is refused) instead of killing the supervisor and the app. */
static __thread sigjmp_buf *bus_jmp;

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
	(void)si, (void)uctx;
	if (bus_jmp)
		siglongjmp(*bus_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static pthread_once_t bus_once = PTHREAD_ONCE_INIT;
static void install_sigbus(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
}

#define SLICE (1u << 20)

/* Hash a mapping of the file instead of read() copies of it: the page cache
 * pages are mapped, not copied (the copy was a fifth of the hashing cost).
 * In slices, so that a supervisor on its way out does not wait for a worker
 * to finish a large library nobody needs any more. */
static int sha256_mapped(struct verifier *v, int fd, uint64_t size, unsigned char out[32])
{
	void *p = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		return 1; /* caller falls back to read() */
	pthread_once(&bus_once, install_sigbus);
	EVP_MD_CTX *volatile ctx = EVP_MD_CTX_new();
	volatile int rc = -1;
	sigjmp_buf jb;
	if (ctx && sigsetjmp(jb, 1) == 0) {
		bus_jmp = &jb;
		unsigned int len = 32;
		bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
		for (uint64_t at = 0; ok && at < size; at += SLICE)
			ok = !atomic_load_explicit(&v->abandon, memory_order_relaxed) &&
			     EVP_DigestUpdate(ctx, (const char *)p + at,
					      size - at < SLICE ? size - at : SLICE) == 1;
		if (ok && EVP_DigestFinal_ex(ctx, out, &len) == 1)
			rc = 0;
	}
	bus_jmp = NULL;
	EVP_MD_CTX_free(ctx);
	munmap(p, size);
	return rc;
}

/* SHA-256 of the whole regular file open at fd, which fstat said has st_size
 * bytes; its offset stays at 0, as the process expects of a file it just
 * opened. */
static int sha256_of_fd(struct verifier *v, int fd, uint64_t st_size, unsigned char out[32],
			uint64_t *size)
{
	if (st_size >= 65536) {
		int rc = sha256_mapped(v, fd, st_size, out);
		if (rc <= 0) {
			if (size)
				*size = st_size;
			return rc;
		}
	}
	return sha256_fd(fd, st_size, out, size);
}

static int open_nomagic(const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	while (fd < 0 && errno == EINTR);
	return fd;
}

/* The cache is keyed by inode, so a symlink and its target (both listed in a
 * manifest) or two hard links are read and hashed once. */
void file_key_inode_name(const struct file_key *k, char name[64])
{
	snprintf(name, 64, "%lx:%lx", (unsigned long)k->dev, (unsigned long)k->ino);
}

static struct centry *entry(struct verifier *v, const struct file_key *k)
{
	char name[64];
	file_key_inode_name(k, name);
	int added;
	void **slot = strmap_put(&v->cache, name, &added);
	if (added) {
		struct centry *e = xcalloc(1, sizeof(*e));
		e->memfd = -1;
		*slot = e;
	}
	return *slot;
}

/* Record an inode verified in this run (takes the lock). */
static void mark_trusted(struct verifier *v, const struct file_key *k)
{
	char name[64];
	file_key_inode_name(k, name);
	pthread_mutex_lock(&v->mu);
	int added;
	void **slot = strmap_put(&v->trusted, name, &added);
	if (added)
		*slot = xmalloc(sizeof(*k));
	memcpy(*slot, k, sizeof(*k));
	pthread_mutex_unlock(&v->mu);
}

bool verifier_key_trusted(struct verifier *v, const struct file_key *k)
{
	char name[64];
	file_key_inode_name(k, name);
	pthread_mutex_lock(&v->mu);
	void **slot = strmap_get(&v->trusted, name);
	bool ok = slot && file_key_equal(*slot, k);
	pthread_mutex_unlock(&v->mu);
	return ok;
}

/* Seal mode: copy fd into a sealed memfd; returns it or -1. */
static int sealed_copy(const char *path, int fd, off_t size)
{
	const char *base = strrchr(path, '/');
	char name[200];
	snprintf(name, sizeof(name), "sgxpy:%s", base ? base + 1 : path);
	int m = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m < 0)
		return -1;
	off_t off = 0;
	while (off < size) {
		ssize_t n = sendfile(m, fd, &off, (size_t)(size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	if (off != size ||
	    fcntl(m, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		close(m);
		return -1;
	}
	return m;
}

/* Hash (or copy+seal+hash) the file open at fd whose key is k, store in e.
 * Called without the lock, e in E_PENDING owned by the caller. */
static int fill(struct verifier *v, const char *path, int fd, const struct file_key *k,
		struct centry *e_out)
{
	unsigned char sha[32];
	uint64_t size;
	int memfd = -1;
	if (v->seal) {
		memfd = sealed_copy(path, fd, k->size);
		if (memfd < 0)
			return -1;
		if (sha256_of_fd(v, memfd, (uint64_t)k->size, sha, &size) < 0) {
			close(memfd);
			return -1;
		}
	} else {
		if (sha256_of_fd(v, fd, (uint64_t)k->size, sha, &size) < 0)
			return -1;
		struct stat st2;
		struct file_key k2;
		if (fstat(fd, &st2) < 0)
			return -1;
		file_key_of(&st2, &k2);
		if (!file_key_equal(k, &k2) || (off_t)size != k->size)
			return -1; /* changed while hashing: never cache it */
	}
	e_out->key = *k;
	memcpy(e_out->sha, sha, 32);
	e_out->memfd = memfd;
	return 0;
}

static void finish(struct verifier *v, struct centry *e, const struct centry *res, bool ok)
{
	pthread_mutex_lock(&v->mu);
	if (ok) {
		if (e->memfd >= 0 && e->memfd != res->memfd)
			close(e->memfd);
		e->key = res->key;
		memcpy(e->sha, res->sha, 32);
		e->memfd = res->memfd;
		e->state = E_DONE;
		v->hashed++;
		v->bytes += (unsigned long long)res->key.size;
	} else {
		e->state = E_NONE;
	}
	pthread_cond_broadcast(&v->done);
	pthread_mutex_unlock(&v->mu);
}

/* Hash the file a queued job names, unless its inode is hashed or being
 * hashed already (under another name too).  Called without the lock. */
static void run_job(struct verifier *v, struct job *j)
{
	struct centry res = {.memfd = -1}, *e = NULL;
	int fd = open_nomagic(j->path, O_RDONLY | O_NONBLOCK);
	struct stat st;
	struct file_key k;
	/* A size other than the manifest's is a mismatch without hashing (the
	 * open says so): a huge sparse file planted there costs nothing, and
	 * is never copied whole into a sealed memfd. */
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (!j->size || (uint64_t)st.st_size == j->size)) {
		file_key_of(&st, &k);
		pthread_mutex_lock(&v->mu);
		e = entry(v, &k);
		if (e->state == E_NONE) {
			e->state = E_PENDING; /* ours */
			e->due_ns = mono_ns() + hash_ns((uint64_t)k.size);
			e->urgent = j->urgent;
		} else {
			e = NULL;
		}
		pthread_mutex_unlock(&v->mu);
		if (e)
			finish(v, e, &res, fill(v, j->path, fd, &k, &res) == 0);
	}
	if (fd >= 0)
		close(fd);
	free(j->path);
	free(j);
}

/* The next queued job, if hashing it should take at most budget_ns; called
 * with the lock held. */
static struct job *pop_job(struct verifier *v, uint64_t budget_ns)
{
	struct job *j = v->head;
	if (!j || hash_ns(j->size) > budget_ns)
		return NULL;
	v->head = j->next;
	if (!v->head)
		v->tail = NULL;
	return j;
}

static void *worker(void *arg)
{
	struct verifier *v = arg;
	bool idle = false;
	pthread_mutex_lock(&v->mu);
	for (;;) {
		while (!v->stop && !v->head)
			pthread_cond_wait(&v->work, &v->mu);
		if (v->stop)
			break;
		struct job *j = pop_job(v, UINT64_MAX);
		pthread_mutex_unlock(&v->mu);
		if (!j->urgent && !idle) {
			/* Past the program and its interpreter, hashing ahead
			 * uses idle CPU time only: at the app's own priority a
			 * worker took the app's CPU for whole time slices (2
			 * CPUs: the app, a worker, the supervisor) and the app
			 * waited longer than the hash saved.  A starved worker
			 * costs at most the wait in lookup_or_hash before the
			 * supervisor hashes the file itself.  (No way back:
			 * leaving SCHED_IDLE takes privilege.) */
			struct sched_param sp = {0};
			sched_setscheduler(0, SCHED_IDLE, &sp);
			idle = true;
		}
		run_job(v, j);
		pthread_mutex_lock(&v->mu);
	}
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

int verifier_new(int threads, bool seal, struct verifier **out, struct sg_err *err)
{
	struct verifier *v = xcalloc(1, sizeof(*v));
	v->seal = seal;
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->done, NULL);
	pthread_cond_init(&v->work, NULL);
	v->threads = xcalloc((size_t)(threads > 0 ? threads : 1), sizeof(pthread_t));
	for (int i = 0; i < threads; i++) {
		int rc = pthread_create(&v->threads[i], NULL, worker, v);
		if (rc == 0)
			pthread_setname_np(v->threads[i], "sgxpy-hash");
		if (rc != 0) {
			errno = rc;
			verifier_free(v);
			return sg_fail_errno(err, "starting hash threads");
		}
		v->n_threads++;
	}
	*out = v;
	return 0;
}

void verifier_free(struct verifier *v)
{
	if (!v)
		return;
	atomic_store(&v->abandon, true);
	pthread_mutex_lock(&v->mu);
	v->stop = true;
	pthread_cond_broadcast(&v->work);
	pthread_mutex_unlock(&v->mu);
	for (int i = 0; i < v->n_threads; i++)
		pthread_join(v->threads[i], NULL);
	free(v->threads);
	while (v->head) {
		struct job *j = v->head;
		v->head = j->next;
		free(j->path);
		free(j);
	}
	strmap_foreach(&v->cache, e) {
		struct centry *c = e->value;
		if (c->memfd >= 0)
			close(c->memfd);
		free(c);
	}
	strmap_free(&v->cache);
	strmap_free_values(&v->trusted);
	pthread_mutex_destroy(&v->mu);
	pthread_cond_destroy(&v->done);
	pthread_cond_destroy(&v->work);
	free(v);
}

struct prefetch {
	const struct bundle_file *f;
	size_t needed; /* 1 + its place in the program's DT_NEEDED list, or 0 */
};

/* The program's libraries first, in the order the loader maps them right
 * after exec, then largest first: the big .so files are the long poles; the
 * small files the process needs before a worker gets to them, the
 * supervisor thread hashes itself (lookup_or_hash). */
static int by_need_then_size(const void *a, const void *b)
{
	const struct prefetch *x = a, *y = b;
	if (x->needed != y->needed)
		return !y->needed ? -1 : !x->needed ? 1 : x->needed < y->needed ? -1 : 1;
	if (x->f->size != y->f->size)
		return x->f->size < y->f->size ? 1 : -1;
	return strcmp(x->f->path, y->f->path);
}

#define MAX_NEEDED 64

static size_t needed_rank(const char *path, char **needed, size_t n)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	for (size_t i = 0; i < n; i++)
		if (strcmp(base, needed[i]) == 0)
			return i + 1;
	return 0;
}

void verifier_prefetch(struct verifier *v, const struct bundle_image *img)
{
	if (!v->n_threads || !img->n_trusted)
		return;
	char *needed[MAX_NEEDED];
	size_t n_needed = 0;
	int pfd = open(img->program, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (pfd >= 0) {
		n_needed = elf_needed(pfd, needed, MAX_NEEDED);
		close(pfd);
	}
	struct prefetch *order = xcalloc(img->n_trusted, sizeof(*order));
	for (size_t i = 0; i < img->n_trusted; i++) {
		order[i].f = &img->trusted[i];
		order[i].needed = needed_rank(img->trusted[i].path, needed, n_needed);
	}
	for (size_t i = 0; i < n_needed; i++)
		free(needed[i]);
	qsort(order, img->n_trusted, sizeof(*order), by_need_then_size);
	pthread_mutex_lock(&v->mu);
	for (size_t i = 0; i < img->n_trusted; i++) {
		struct job *j = xcalloc(1, sizeof(*j));
		j->path = xstrdup(order[i].f->path);
		j->size = order[i].f->size;
		if (v->tail)
			v->tail->next = j;
		else
			v->head = j;
		v->tail = j;
	}
	pthread_cond_broadcast(&v->work);
	pthread_mutex_unlock(&v->mu);
	free(order);
}

void verifier_prefetch_first(struct verifier *v, const char *path)
{
	if (!v->n_threads)
		return;
	struct job *j = xcalloc(1, sizeof(*j));
	j->path = xstrdup(path);
	struct stat st;
	j->size = stat(path, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX / 2; /* unknown: never "short" */
	j->urgent = true;
	pthread_mutex_lock(&v->mu);
	j->next = v->head;
	v->head = j;
	if (!v->tail)
		v->tail = j;
	pthread_cond_broadcast(&v->work);
	pthread_mutex_unlock(&v->mu);
}

/* The verdict for path, whose freshly opened fd has key k: fills sha (and
 * *memfd in seal mode, borrowed).  Waits for a worker on the same path. */
static int lookup_or_hash_untimed(struct verifier *v, const char *path, int fd, const struct file_key *k,
			  unsigned char sha[32], int *memfd)
{
	pthread_mutex_lock(&v->mu);
	struct centry *e = entry(v, k);
	if (e->state == E_PENDING && !v->seal) {
		/* A worker is on it: wait about as long as hashing it takes
		 * here, then hash it here (an idle-priority worker on a busy
		 * host can starve; the process must not wait for it).  A
		 * worker at the app's priority (the program, its interpreter)
		 * is waited for: hashing it twice at once only slowed both.
		 * Meanwhile work the queue, with jobs that end before the
		 * worker should (an exec waiting for the program's hash hashes
		 * the libraries the loader maps next). */
		uint64_t deadline = e->urgent ? UINT64_MAX
					      : mono_ns() + 500000 + hash_ns((uint64_t)k->size);
		for (;;) {
			uint64_t now = mono_ns();
			if (e->state != E_PENDING || now >= deadline)
				break;
			struct job *j = pop_job(v, e->due_ns > now ? e->due_ns - now : 0);
			if (j) {
				pthread_mutex_unlock(&v->mu);
				run_job(v, j);
				pthread_mutex_lock(&v->mu);
				continue;
			}
			if (deadline == UINT64_MAX) {
				pthread_cond_wait(&v->done, &v->mu);
				continue;
			}
			struct timespec dl = realtime_after_ns(deadline - now);
			pthread_cond_timedwait(&v->done, &v->mu, &dl);
		}
		if (e->state == E_PENDING) {
			v->stolen++;
			pthread_mutex_unlock(&v->mu);
			uint64_t size;
			*memfd = -1;
			return sha256_of_fd(v, fd, (uint64_t)k->size, sha, &size);
		}
	}
	while (e->state == E_PENDING)
		pthread_cond_wait(&v->done, &v->mu);
	if (e->state == E_DONE && file_key_equal(&e->key, k)) {
		memcpy(sha, e->sha, 32);
		*memfd = e->memfd;
		v->hits++;
		pthread_mutex_unlock(&v->mu);
		return 0;
	}
	e->state = E_PENDING;
	e->due_ns = mono_ns() + hash_ns((uint64_t)k->size);
	pthread_mutex_unlock(&v->mu);
	struct centry res = {.memfd = -1};
	bool ok = fill(v, path, fd, k, &res) == 0;
	finish(v, e, &res, ok);
	if (!ok) {
		/* Changing under us: hash once more without caching. */
		if (v->seal)
			return -1;
		uint64_t size;
		return sha256_of_fd(v, fd, (uint64_t)k->size, sha, &size);
	}
	memcpy(sha, res.sha, 32);
	*memfd = res.memfd;
	return 0;
}

/* lookup_or_hash_untimed, adding the time the process waited to the stats. */
static int lookup_or_hash(struct verifier *v, const char *path, int fd, const struct file_key *k,
			  unsigned char sha[32], int *memfd)
{
	uint64_t t0 = mono_ns();
	int rc = lookup_or_hash_untimed(v, path, fd, k, sha, memfd);
	atomic_fetch_add(&v->wait_ns, mono_ns() - t0); /* no second trip through the lock */
	return rc;
}

int verifier_open(struct verifier *v, const char *path, int extra_flags,
		  const struct bundle_file *want, bool audit, bool *mismatch, int *open_errno,
		  struct file_key *key_out)
{
	*mismatch = false;
	*open_errno = 0;
	/* O_NONBLOCK: never block on a FIFO planted at a trusted path. */
	int fd = open_nomagic(path, O_RDONLY | O_NONBLOCK | (extra_flags & (O_NOFOLLOW | O_DIRECTORY | O_NOCTTY | O_LARGEFILE)));
	if (fd < 0) {
		*open_errno = errno;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != want->size) {
		if (!audit || !S_ISREG(st.st_mode)) {
			close(fd);
			*mismatch = true;
			return -1;
		}
	}
	struct file_key k;
	file_key_of(&st, &k);
	unsigned char sha[32];
	int memfd = -1;
	bool good = lookup_or_hash(v, path, fd, &k, sha, &memfd) == 0 &&
		    memcmp(sha, want->sha256, 32) == 0;
	if (!good) {
		*mismatch = true;
		if (!audit) {
			close(fd);
			return -1;
		}
	}
	if (good) {
		mark_trusted(v, &k);
	}
	if (key_out)
		*key_out = k;
	if (v->seal && memfd >= 0 && good) {
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", memfd);
		int m = open(self, O_RDONLY | O_CLOEXEC | (extra_flags & O_NONBLOCK));
		close(fd);
		if (m < 0) {
			*open_errno = errno;
			return -1;
		}
		struct stat ms;
		if (fstat(m, &ms) == 0) {
			struct file_key mk;
			file_key_of(&ms, &mk);
			mark_trusted(v, &mk);
		}
		return m;
	}
	if (!(extra_flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, 0); /* a regular file opened O_RDONLY: no other status flag */
	return fd;
}

int verifier_check_path(struct verifier *v, const char *path, const unsigned char want[32],
			uint64_t size, struct file_key *key_out, int *open_errno)
{
	*open_errno = 0;
	int fd = open_nomagic(path, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		*open_errno = errno;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size != UINT64_MAX && (uint64_t)st.st_size != size)) {
		close(fd);
		return -1;
	}
	struct file_key k;
	file_key_of(&st, &k);
	unsigned char sha[32];
	int memfd = -1;
	/* The kernel maps the host file at exec, never a copy: hash the host
	 * bytes even in seal mode (a copy's hash says nothing about them). */
	bool seal = v->seal;
	int rc;
	if (seal) {
		uint64_t n;
		rc = sha256_of_fd(v, fd, (uint64_t)st.st_size, sha, &n);
	} else {
		rc = lookup_or_hash(v, path, fd, &k, sha, &memfd);
	}
	close(fd);
	if (rc < 0 || memcmp(sha, want, 32) != 0)
		return -1;
	mark_trusted(v, &k);
	*key_out = k;
	return 0;
}

void verifier_stats(struct verifier *v, struct verifier_stats *out)
{
	pthread_mutex_lock(&v->mu);
	out->hashed = v->hashed + v->stolen; /* stolen: hashed again here rather than waited for */
	out->hits = v->hits;
	out->bytes = v->bytes;
	out->wait_ns = atomic_load(&v->wait_ns);
	pthread_mutex_unlock(&v->mu);
}
