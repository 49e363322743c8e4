/* landlock.c - the kernel-enforced second wall: one Landlock layer holding the
 * union of every image's paths, applied to the whole process tree.
 *
 * What it enforces (the supervisor refines per image, per path):
 *   - programs, their ELF interpreters and #! scripts: EXECUTE + READ_FILE (the
 *     kernel opens them itself at exec, with the process's domain);
 *   - every other trusted file: NO right at all.  The supervisor opens trusted
 *     files and injects the fd; rights are fixed at open, so the injected fd
 *     works, while a direct kernel open (io_uring, a racing CONTINUE, a
 *     /proc/self/fd reopen for write) is refused;
 *   - allow rules: READ_FILE/READ_DIR, plus write/make/remove/refer/truncate if
 *     the rule allows writes; lists: READ_DIR;
 *   - anything under /proc an image may open: /proc as a whole, read-only (the
 *     inode of /proc/self is the supervisor's own, so no finer rule exists);
 *   - scope (ABI 6+): no signals to processes outside the tree.
 * Network rights are not handled (the bundle says nothing about the network).
 *
 * ABI: tested with ABI 7 (pinned: rights newer than that are not handled, so a
 * newer kernel behaves as tested).  Below ABI 3 trusted files could be
 * truncated through an allowed parent, so `sgxpy run` refuses to start unless
 * --no-landlock is given. */
#include "run/run.h"

#include "common/path.h"
#include "common/strmap.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* The system header is older than the running kernel: our own copies. */
#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_REFER (1ULL << 13)
#define LL_FS_TRUNCATE (1ULL << 14)
#define LL_FS_IOCTL_DEV (1ULL << 15)
#define LL_SCOPE_SIGNAL (1ULL << 1)

#define LL_FILE_RIGHTS (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
#define LL_READ (LL_FS_READ_FILE | LL_FS_READ_DIR)
#define LL_WRITE (LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | \
		  LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_SYM | LL_FS_MAKE_SOCK | \
		  LL_FS_MAKE_FIFO | LL_FS_REFER)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct landlock_plan {
	int abi;
	int ruleset_fd;
	uint64_t handled_fs;
	uint64_t scoped;
	size_t n_rules;
	char desc[256];
};

int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

static void plan_rights(struct landlock_plan *p)
{
	p->handled_fs = 0;
	p->scoped = 0;
	/* Strip what the running kernel lacks; keep nothing newer than tested. */
	switch (p->abi > LANDLOCK_ABI_TESTED ? LANDLOCK_ABI_TESTED : p->abi) {
	case 7: /* RESTRICT_SELF_LOG_* flags: defaults kept (audit logs denials) */
	case 6:
		p->scoped |= LL_SCOPE_SIGNAL;
		/* fallthrough */
	case 5:
		p->handled_fs |= LL_FS_IOCTL_DEV;
		/* fallthrough */
	case 4: /* network rights: deliberately not handled */
	case 3:
		p->handled_fs |= LL_FS_TRUNCATE;
		/* fallthrough */
	case 2:
		p->handled_fs |= LL_FS_REFER;
		/* fallthrough */
	case 1:
		p->handled_fs |= (LL_FS_MAKE_SYM << 1) - 1; /* bits 0..12 */
		break;
	default:
		break;
	}
}

/* Union of rights per path, from every image. */
static void want(struct strmap *m, const char *path, uint64_t rights)
{
	int added;
	void **slot = strmap_put(m, path, &added);
	*slot = (void *)((uintptr_t)*slot | (uintptr_t)rights);
}

static bool dir_holds_trusted(const struct bundle *b, const char *dir)
{
	for (size_t i = 0; i < b->n_images; i++)
		for (size_t j = 0; j < b->images[i].n_trusted; j++)
			if (path_is_under(b->images[i].trusted[j].path, dir))
				return true;
	return false;
}

static void add_program(struct strmap *m, const char *path)
{
	want(m, path, LL_FS_EXECUTE | LL_FS_READ_FILE);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char interp[4096];
	if (elf_interp(fd, interp, sizeof(interp)) == 0)
		want(m, interp, LL_FS_EXECUTE | LL_FS_READ_FILE);
	close(fd);
}

static int add_rule(struct landlock_plan *p, const char *path, uint64_t rights, struct sg_err *err)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return 0; /* absent at start: nothing to grant (the supervisor still decides) */
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		rights &= LL_FILE_RIGHTS;
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISDIR(st.st_mode))
		rights &= ~LL_FS_IOCTL_DEV;
	rights &= p->handled_fs;
	if (!rights) {
		close(fd);
		return 0;
	}
	struct ll_path_beneath pb = {.allowed_access = rights, .parent_fd = fd};
	long rc = syscall(SYS_landlock_add_rule, p->ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	int e = errno;
	close(fd);
	if (rc < 0) {
		errno = e;
		return sg_fail_errno(err, "landlock rule for %s", path);
	}
	p->n_rules++;
	return 0;
}

int landlock_plan_build(const struct bundle *b, int abi, struct landlock_plan **out,
			struct sg_err *err)
{
	struct landlock_plan *p = xcalloc(1, sizeof(*p));
	p->abi = abi;
	p->ruleset_fd = -1;
	plan_rights(p);
	struct ll_ruleset_attr attr = {.handled_access_fs = p->handled_fs, .scoped = p->scoped};
	/* The struct grew with the ABI: pass only what this kernel knows. */
	size_t attr_size = abi >= 6 ? 3 * sizeof(uint64_t) : abi >= 4 ? 2 * sizeof(uint64_t)
								 : sizeof(uint64_t);
	p->ruleset_fd = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (p->ruleset_fd < 0) {
		free(p);
		return sg_fail_errno(err, "landlock_create_ruleset (ABI %d)", abi);
	}
	struct strmap m = {0};
	bool proc = false;
	for (size_t i = 0; i < b->n_images; i++) {
		const struct bundle_image *img = &b->images[i];
		add_program(&m, img->program);
		if (img->script && img->script[0] == '/' && image_trusted(img, img->script))
			want(&m, img->script, LL_FS_EXECUTE | LL_FS_READ_FILE);
		for (size_t j = 0; j < img->n_allowed; j++) {
			const struct bundle_allow *a = &img->allowed[j];
			if (path_is_under(a->path, "/proc")) {
				proc = true;
				continue;
			}
			uint64_t r = LL_READ | LL_FS_IOCTL_DEV | (a->write ? LL_WRITE : 0);
			struct stat st;
			if (a->write && stat(a->path, &st) < 0 && errno == ENOENT) {
				/* An output file made during the run: Landlock can
				 * grant creating it only as "create and write files
				 * beneath its directory".  Where trusted files live
				 * there too, they keep no removal right (so none can be
				 * unlinked or renamed over), and writes to them are
				 * refused by the supervisor, whose hash check refuses
				 * any later open of a changed file. */
				char *dir = xstrdup(a->path);
				char *slash = strrchr(dir, '/');
				if (slash && slash != dir) {
					*slash = '\0';
					uint64_t create = LL_FS_MAKE_REG | LL_FS_WRITE_FILE | LL_FS_READ_FILE |
							  LL_FS_TRUNCATE;
					want(&m, dir, dir_holds_trusted(b, dir) ? create
										: create | LL_FS_REMOVE_FILE);
				}
				free(dir);
				continue;
			}
			want(&m, a->path, r);
		}
		for (size_t j = 0; j < img->n_list; j++) {
			if (path_is_under(img->list[j], "/proc"))
				proc = true;
			else
				want(&m, img->list[j], LL_FS_READ_DIR);
		}
	}
	if (proc)
		want(&m, "/proc", LL_READ);
	int rc = 0;
	strmap_foreach(&m, e) {
		if (rc == 0)
			rc = add_rule(p, e->key, (uint64_t)(uintptr_t)e->value, err);
	}
	strmap_free(&m);
	if (rc < 0) {
		landlock_plan_free(p);
		return -1;
	}
	snprintf(p->desc, sizeof(p->desc),
		 "landlock ABI %d (tested %d): handled fs rights 0x%llx, scopes 0x%llx, %zu rules",
		 abi, LANDLOCK_ABI_TESTED, (unsigned long long)p->handled_fs,
		 (unsigned long long)p->scoped, p->n_rules);
	*out = p;
	return 0;
}

int landlock_plan_apply(struct landlock_plan *p, struct sg_err *err)
{
	if (syscall(SYS_landlock_restrict_self, p->ruleset_fd, 0) < 0)
		return sg_fail_errno(err, "landlock_restrict_self");
	return 0;
}

const char *landlock_plan_describe(const struct landlock_plan *p)
{
	return p ? p->desc : "landlock off (--no-landlock)";
}

void landlock_plan_free(struct landlock_plan *p)
{
	if (!p)
		return;
	if (p->ruleset_fd >= 0)
		close(p->ruleset_fd);
	free(p);
}
