/* manifest_hashbench.c - the manifest stage's hasher alone (hash_files(), the
 * code `sgxpy manifest` runs) over a list of files, one path per line on
 * stdin.  Prints wall-clock and per-CPU throughput of REPEAT calls, so the
 * hashing efficiency can be read even on a machine shared with other work:
 *   bytes / CPU-second of the hashing threads  vs  openssl speed (one core).
 * Built and run by bench/manifest_bench.sh. */
#include "common/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int repeat = argc > 1 ? atoi(argv[1]) : 11;
	unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 0;
	struct hash_job *jobs = NULL;
	size_t n = 0, cap = 0;
	char line[8192];
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		grow_array(&jobs, &cap, n, sizeof(*jobs));
		jobs[n++] = (struct hash_job){.path = xstrdup(line)};
	}
	if (repeat < 1 || !n) {
		fprintf(stderr, "usage: manifest_hashbench [REPEAT [THREADS]] < FILE-LIST\n");
		return 2;
	}
	double *wall = xcalloc((size_t)repeat, sizeof(double)), *cpu = xcalloc((size_t)repeat, sizeof(double));
	struct hash_stats st = {0};
	for (int r = 0; r < repeat; r++) {
		struct sg_err err;
		if (hash_files(jobs, n, threads, "bench", &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 4;
		}
		hash_last_stats(&st);
		wall[r] = (double)st.bytes / st.seconds / 1e6;
		cpu[r] = (double)st.bytes / st.cpu_seconds / 1e6;
	}
	qsort(wall, (size_t)repeat, sizeof(double), cmp_double);
	qsort(cpu, (size_t)repeat, sizeof(double), cmp_double);
	/* median wall MB/s, median MB per CPU-second, distinct files, bytes */
	printf("%.0f %.0f %llu %llu\n", wall[repeat / 2], cpu[repeat / 2],
	       (unsigned long long)st.files, (unsigned long long)st.bytes);
	for (size_t i = 0; i < n; i++)
		free((char *)jobs[i].path);
	free(jobs);
	free(wall);
	free(cpu);
	return 0;
}
