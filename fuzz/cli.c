/* fuzz/cli.c - command-line parsing of every command: `sgxpy <fuzzed argv>`
 * through the real main() (src/cli/main.c, built as sgxpy_main) and each
 * command's getopt loop and argument checks.
 *
 * Why fork per input, and why this is sound:
 *   - commands end in die() -> exit(), keep static state (getopt's optind,
 *     sg_command) and may start processes (trace, run) or write files
 *     (manifest, sign, keygen, trace).  So each input runs in a forked child.
 *   - the child is sandboxed before main() runs: chroot into a scratch
 *     directory holding only fixtures (a trace /t.trace, a signed bundle /b,
 *     keys /k /k.pub, a program /prog, a file /f, a directory /d), so a fuzzed
 *     path can only name those; and a seccomp filter that makes execve,
 *     execveat, fork, vfork, clone without CLONE_THREAD, clone3 (glibc falls
 *     back to clone for threads), ptrace, kill/tkill, and every call that
 *     writes the file system (open/openat with O_WRONLY|O_RDWR|O_CREAT|O_TRUNC,
 *     creat, openat2, unlink*, rename*, mkdir*, rmdir, link*, symlink*,
 *     truncate, chmod*, chown*, mknod*, mount) fail with EPERM/EACCES.
 *     LLVMFuzzerInitialize checks the sandbox itself (fork, exec, create,
 *     unlink, mkdir must all fail in it) and refuses to fuzz otherwise.
 *     Commands therefore parse everything for real and then fail cleanly
 *     where they would act: that is the error path a full disk or a
 *     read-only directory takes in real use.
 *   - coverage still guides the fuzzer: the child copies the compiler's
 *     8-bit coverage counters (section __sancov_cntrs) into shared memory at
 *     exit (exit is wrapped with -Wl,--wrap=exit) or when a sanitizer kills
 *     it, and the parent merges them into its own before libFuzzer reads them.
 *
 * Input: argv elements separated by NUL bytes (at most 16); cli.dict has the
 * command and option names.  Properties: the child exits (no signal, no
 * sanitizer report, no hang: 20 s alarm) with a documented status (0, 1, 2, 3,
 * 4, 125, 126, 127); a non-zero status other than verify's 1 comes with a
 * message on stderr that starts "sgxpy: " and never prints "(null)". */
#include "fuzz_common.h"
#include "common/hash.h"
#include "common/store.h"
#include "common/util.h"
#include "manifest/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int sgxpy_main(int argc, char **argv);
_Noreturn void __real_exit(int status);
_Noreturn void __wrap_exit(int status);

uint8_t *fz_counters(size_t *n); /* counters.c */
static uint8_t *counters;

struct shared {
	volatile int exited, status, crashed;
	uint8_t counters[];
};
static struct shared *sh;
static size_t n_counters;
static int in_child;
static char root[4096];
static int sandbox_chroot = 1;

static void save_counters(void)
{
	if (sh && n_counters)
		memcpy(sh->counters, counters, n_counters);
}

void __wrap_exit(int status)
{
	if (!in_child)
		__real_exit(status);
	fflush(stdout);
	fflush(stderr);
	save_counters();
	sh->status = status;
	sh->exited = 1;
	_exit(status);
}

static void on_sanitizer_death(void)
{
	save_counters();
	sh->crashed = 1;
}

static void put(const char *rel, const char *text, mode_t mode)
{
	char p[4400];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fz_write(p, text, strlen(text));
	chmod(p, mode);
}

static const char prog[] = "#!/bin/sh\nexit 0\n";
static const char ed_private[] = "-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ4FPrIf2ADvvJXyrVhoSGeoCddy99msdh6jY4TV6GK4\n"
	"-----END PRIVATE KEY-----\n";
static const char ed_public[] = "-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEAGb0R0XfZeohlaTQtzp1kKXg8eVSXMNi9ac8SZ5A4/F8=\n"
	"-----END PUBLIC KEY-----\n";

static void make_fixtures(void)
{
	snprintf(root, sizeof(root), "%s/root", fz_scratch());
	char p[4400];
	const char *dirs[] = {"", "/d", "/b", "/b/manifests", "/tmp"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
		mkdir(p, 0755);
	}
	put("prog", prog, 0755);
	put("f", "x\n", 0644);
	put("k", ed_private, 0600);
	put("k.pub", ed_public, 0644);
	/* A small trace of /prog reading /f. */
	struct sg_err err;
	struct store st;
	snprintf(p, sizeof(p), "%s/t.trace", root);
	struct store_proc pr = {.id = 1, .pid = 100, .kind = "root", .exe = "/prog",
				.argv_json = "[\"/prog\"]", .env_json = "{\"PATH\":\"/\"}", .cwd = "/",
				.threads = 1, .peak_rss_kb = 1000, .exit_status = 0, .abi = "x86_64"};
	struct store_file f1 = {.proc = 1, .path = "/f", .mode = "read", .err = 0};
	struct store_file f2 = {.proc = 1, .path = "/prog", .mode = "exec", .err = 0};
	if (store_create(&st, p, false, &err) < 0 || store_begin_run(&st, "[\"/prog\"]", "/", &err) < 0 ||
	    store_add_proc(&st, st.run, &pr, &err) < 0 || store_add_file(&st, st.run, &f1, &err) < 0 ||
	    store_add_file(&st, st.run, &f2, &err) < 0 || store_end_run(&st, 0, &err) < 0 ||
	    store_commit(&st, &err) < 0)
		fz_fail("harness: trace fixture: %s", err.msg);
	unsigned char h[32];
	char ph[65], mh[65];
	sha256_buf(prog, strlen(prog), h);
	hex_encode(h, 32, ph);
	char *m = xasprintf("{\"allowed\":[{\"path\":\"/tmp\",\"tree\":true,\"write\":true}],"
			    "\"argv\":[\"/prog\"],\"children\":[],\"format\":\"sgxpy-manifest/1\","
			    "\"id\":\"prog\",\"list\":[\"/d\"],\"program\":{\"path\":\"/prog\",\"sha256\":"
			    "\"%s\",\"size\":%zu},\"script\":null,\"stat\":[\"/f\"],\"trusted\":[{\"path\":"
			    "\"/prog\",\"sha256\":\"%s\",\"size\":%zu}]}\n",
			    ph, strlen(prog), ph, strlen(prog));
	put("b/manifests/prog.json", m, 0644);
	sha256_buf(m, strlen(m), h);
	hex_encode(h, 32, mh);
	free(m);
	char th[65];
	snprintf(p, sizeof(p), "%s/t.trace", root);
	if (sha256_path(p, h, NULL, &err) < 0)
		fz_fail("harness: %s", err.msg);
	hex_encode(h, 32, th);
	char *idx = xasprintf("{\"format\":\"sgxpy-bundle/1\",\"images\":{\"prog\":\"%s\"},"
			      "\"options\":{\"allow\":[],\"exclude\":[],\"trust\":[]},"
			      "\"root\":\"prog\",\"traces\":[{\"path\":\"/t.trace\",\"sha256\":\"%s\"}]}\n",
			      mh, th);
	put("b/bundle.json", idx, 0644);
	free(idx);
	snprintf(p, sizeof(p), "%s/b", root);
	char key[4400];
	snprintf(key, sizeof(key), "%s/k", root);
	if (sign_bundle(p, key, &err) < 0)
		fz_fail("harness: %s", err.msg);
}

static int deny(scmp_filter_ctx ctx, int err, int sys)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), sys, 0);
}

/* The child's sandbox; returns 0 or fails the run. */
static void sandbox(void)
{
	if (sandbox_chroot && (chroot(root) < 0 || chdir("/") < 0))
		fz_fail("harness: chroot %s: %s", root, strerror(errno));
	if (!sandbox_chroot && chdir(root) < 0)
		fz_fail("harness: chdir %s", root);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = 0;
	static const int no_process[] = {
		SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork),
		SCMP_SYS(ptrace), SCMP_SYS(kill), SCMP_SYS(tkill), SCMP_SYS(process_vm_writev),
		SCMP_SYS(pidfd_send_signal), SCMP_SYS(setns), SCMP_SYS(unshare),
	};
	static const int no_write[] = {
		SCMP_SYS(creat), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rename),
		SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(mkdir), SCMP_SYS(mkdirat),
		SCMP_SYS(rmdir), SCMP_SYS(link), SCMP_SYS(linkat), SCMP_SYS(symlink),
		SCMP_SYS(symlinkat), SCMP_SYS(truncate), SCMP_SYS(chmod), SCMP_SYS(fchmodat),
		SCMP_SYS(chown), SCMP_SYS(lchown), SCMP_SYS(fchownat), SCMP_SYS(mknod),
		SCMP_SYS(mknodat), SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(io_uring_setup),
		SCMP_SYS(name_to_handle_at), SCMP_SYS(open_by_handle_at), SCMP_SYS(chroot),
	};
	for (size_t i = 0; i < sizeof(no_process) / sizeof(*no_process); i++)
		rc |= deny(ctx, EPERM, no_process[i]);
	for (size_t i = 0; i < sizeof(no_write) / sizeof(*no_write); i++)
		rc |= deny(ctx, EACCES, no_write[i]);
	rc |= deny(ctx, ENOSYS, SCMP_SYS(clone3));
	rc |= deny(ctx, ENOSYS, SCMP_SYS(openat2));
	/* tgkill only to ourselves (abort() uses it). */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(tgkill), 1,
			       (struct scmp_arg_cmp){.arg = 0, .op = SCMP_CMP_NE,
						      .datum_a = (scmp_datum_t)getpid(), .datum_b = 0});
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
			       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
	const scmp_datum_t wr = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC;
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 1,
			       SCMP_A1(SCMP_CMP_MASKED_EQ, wr, O_WRONLY));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 1,
			       SCMP_A1(SCMP_CMP_MASKED_EQ, O_RDWR, O_RDWR));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 1,
			       SCMP_A1(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 1,
			       SCMP_A1(SCMP_CMP_MASKED_EQ, O_TRUNC, O_TRUNC));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, O_WRONLY, O_WRONLY));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, O_RDWR, O_RDWR));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, O_TRUNC, O_TRUNC));
	if (rc || seccomp_load(ctx) < 0)
		fz_fail("harness: cannot install the sandbox filter");
	seccomp_release(ctx);
}

/* In a sandboxed child, everything that would act on the system fails. */
static void check_sandbox(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		sandbox();
		int bad = 0;
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		bad |= p >= 0;
		char *argv[] = {"/prog", NULL};
		execve("/prog", argv, argv + 1);
		bad |= 2 * (errno != EPERM);
		bad |= 4 * (open("/new", O_CREAT | O_WRONLY, 0644) >= 0);
		bad |= 8 * (open("/f", O_RDWR) >= 0);
		bad |= 16 * (unlink("/f") == 0);
		bad |= 32 * (mkdir("/newdir", 0755) == 0);
		bad |= 64 * (open("/f", O_RDONLY) < 0);  /* reading still works */
		bad |= 128 * (kill(getppid(), 0) == 0);
		_exit(bad);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		fz_fail("harness: the sandbox does not hold (status %#x)", status);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	make_fixtures();
	if (getuid() != 0 || getenv("FUZZ_NO_CHROOT")) {
		fprintf(stderr, "cli fuzz: not root, no chroot: fuzzed paths may name host files "
				"(still read-only and without processes)\n");
		sandbox_chroot = 0;
	}
	counters = fz_counters(&n_counters);
	sh = mmap(NULL, sizeof(*sh) + n_counters, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fz_fail("harness: mmap");
	check_sandbox();
	return 0;
}

static const int documented[] = {0, 1, 2, 3, 4, 125, 126, 127};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *parts[16], *block;
	size_t n = fz_split(data, size, parts, 16, &block);
	char *argv[18];
	argv[0] = "sgxpy";
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = parts[i];
	argv[n + 1] = NULL;
	int err_pipe[2];
	if (pipe2(err_pipe, O_CLOEXEC) < 0)
		fz_fail("harness: pipe");
	memset(sh, 0, sizeof(*sh));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		fz_fail("harness: fork");
	if (pid == 0) {
		in_child = 1;
		__sanitizer_set_death_callback(on_sanitizer_death);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(err_pipe[1], 2);
		alarm(20);
		sandbox();
		int st = sgxpy_main((int)n + 1, argv);
		__wrap_exit(st);
	}
	close(err_pipe[1]);
	char msg[8192];
	size_t got = 0;
	for (;;) {
		ssize_t r = read(err_pipe[0], msg + got, sizeof(msg) - 1 - got);
		if (r < 0 && errno == EINTR)
			continue; /* libFuzzer's timers */
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(msg) - 1) { /* keep draining */
			char sinkbuf[4096];
			ssize_t k;
			while ((k = read(err_pipe[0], sinkbuf, sizeof(sinkbuf))) > 0 || (k < 0 && errno == EINTR))
				;
			break;
		}
	}
	msg[got] = '\0';
	close(err_pipe[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fz_fail("harness: waitpid");
	/* Merge the child's coverage into ours. */
	for (size_t i = 0; i < n_counters; i++)
		if (sh->counters[i] > counters[i])
			counters[i] = sh->counters[i];
	char shown[2048] = "";
	for (size_t i = 0; i <= n && strlen(shown) < sizeof(shown) - 200; i++)
		snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), "%s'%.100s'", i ? " " : "",
			 argv[i]);
	if (sh->crashed || WIFSIGNALED(status) || !sh->exited)
		fz_fail("%s: %s%s\n--- child stderr ---\n%s", shown,
			sh->crashed ? "sanitizer report" : "child died",
			WIFSIGNALED(status) ? (WTERMSIG(status) == SIGALRM ? " (hang: 20 s)" : " (signal)") : "",
			msg);
	int code = WEXITSTATUS(status);
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "%s -> %d\n%s", shown, code, msg);
	bool ok = false;
	for (size_t i = 0; i < sizeof(documented) / sizeof(*documented); i++)
		ok |= code == documented[i];
	if (!ok)
		fz_fail("%s: undocumented exit status %d\n%s", shown, code, msg);
	if (code >= 2 && !strstr(msg, "sgxpy: "))
		fz_fail("%s: exit %d without an 'sgxpy: ' message (stderr: '%s')", shown, code, msg);
	bool null_in_args = false;
	for (size_t i = 0; i <= n; i++)
		null_in_args |= strstr(argv[i], "(null)") != NULL;
	if (strstr(msg, "(null)") && !null_in_args)
		fz_fail("%s: message prints a NULL string: %s", shown, msg);
	free(block);
	return 0;
}
