/* fuzz_bundle_load.c - libFuzzer harness for the bundle loader
 * (src/common/bundle.c): each input replaces either the root manifest or
 * bundle.json of a fixed, valid two-image bundle, which is then loaded with
 * and without hash checks.  Property: success, or -1 with a message; never a
 * crash, leak or undefined behaviour.
 *
 * Build and run (not part of `make`; needs clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *     tests/fuzz/fuzz_bundle_load.c src/common/{bundle,hash,image,json,path,strmap,util}.c \
 *     -ljansson -lcrypto -o /tmp/fuzz_bundle_load
 *   /tmp/fuzz_bundle_load -max_total_time=60 -max_len=8192
 */
#include "common/bundle.h"
#include "common/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[64];

static const char child[] =
	"{\"allowed\":[],\"argv\":[\"sh\"],\"children\":[],\"format\":\"sgxpy-manifest/1\",\"id\":\"sh\","
	"\"list\":[],\"program\":{\"path\":\"/bin/sh\",\"sha256\":"
	"\"0000000000000000000000000000000000000000000000000000000000000000\",\"size\":1},"
	"\"script\":null,\"stat\":[],\"trusted\":[]}\n";

static const char root_fmt[] =
	"{\"allowed\":[{\"path\":\"/tmp\",\"tree\":true,\"write\":true}],\"argv\":[\"python3\",\"a.py\"],"
	"\"children\":[{\"id\":\"sh\",\"sha256\":\"%s\"}],\"format\":\"sgxpy-manifest/1\",\"id\":\"app\","
	"\"list\":[\"/srv\"],\"program\":{\"path\":\"/usr/bin/python3\",\"sha256\":"
	"\"0000000000000000000000000000000000000000000000000000000000000000\",\"size\":1},"
	"\"script\":\"/srv/a.py\",\"stat\":[\"/srv/b.py\"],\"trusted\":[{\"path\":\"/srv/a.py\","
	"\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"size\":3}]}\n";

static void put(const char *rel, const void *data, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	fwrite(data, 1, len, f);
	fclose(f);
}

static void hexsha(const void *d, size_t n, char out[65])
{
	unsigned char h[32];
	sha256_buf(d, n, h);
	hex_encode(h, 32, out);
}

static char good_root[2048], good_index[512];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	strcpy(dir, "/tmp/sgxpy-fuzz-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	char m[96], hc[65], hr[65];
	snprintf(m, sizeof(m), "%s/manifests", dir);
	mkdir(m, 0755);
	hexsha(child, strlen(child), hc);
	snprintf(good_root, sizeof(good_root), root_fmt, hc);
	hexsha(good_root, strlen(good_root), hr);
	snprintf(good_index, sizeof(good_index),
		 "{\"format\":\"sgxpy-bundle/1\",\"images\":{\"app\":\"%s\",\"sh\":\"%s\"},\"root\":\"app\"}\n",
		 hr, hc);
	put("manifests/sh.json", child, strlen(child));
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1)
		return 0;
	bool index = data[0] & 1;
	put("manifests/app.json", index ? good_root : (const char *)data + 1,
	    index ? strlen(good_root) : size - 1);
	put("bundle.json", index ? (const char *)data + 1 : good_index,
	    index ? size - 1 : strlen(good_index));
	for (int flags = 0; flags <= BUNDLE_NO_HASH_CHECK; flags += BUNDLE_NO_HASH_CHECK) {
		struct bundle *b = NULL;
		struct sg_err err = {{0}};
		if (bundle_load_flags(dir, flags, &b, &err) == 0) {
			for (size_t i = 0; i < b->n_images; i++) {
				const struct bundle_image *img = &b->images[i];
				image_allowed(img, "/tmp/x/y");
				image_trusted(img, "/srv/a.py");
				image_may_stat(img, "/srv/b.py");
				char *argv[] = {"sh", "-c", "x", NULL};
				image_child_for_exec(b, img, "/bin/sh", argv, "/");
			}
			bundle_free(b);
		} else if (!err.msg[0]) {
			abort(); /* every failure must say why */
		}
	}
	return 0;
}
