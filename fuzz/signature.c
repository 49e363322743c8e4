/* fuzz/signature.c - the signature reader (src/manifest/sign.c sign_check:
 * BUNDLE/signature.json, its hex fields and embedded PEM public key).
 *
 * A fixed, valid bundle and two keys (Ed25519 and RSA-3072 e=3) are made once;
 * the bundle is signed with the Ed25519 key to learn the genuine signature.
 * Each input becomes signature.json and is checked with both public keys.
 * Properties: the result is 0 (valid), 1 (mismatch) or -1 (cannot check),
 * non-zero always with a message; and no forgery: 0 only with the Ed25519 key
 * and only when the input's "signature" decodes to the genuine bytes. */
#include "fuzz_common.h"
#include "common/util.h"
#include "common/hash.h"
#include "common/bundle.h"
#include "manifest/sign.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[4096], sig_path[4200], ed_pub[4200], rsa_pub[4200];
static unsigned char genuine[64];
static unsigned char measurement[32]; /* of the harness bundle's bundle.json */

static const char manifest[] =
	"{\"allowed\":[],\"argv\":[\"app\"],\"children\":[],\"format\":\"sgxpy-manifest/1\","
	"\"id\":\"app\",\"list\":[],\"program\":{\"path\":\"/usr/bin/app\",\"sha256\":"
	"\"0000000000000000000000000000000000000000000000000000000000000000\",\"size\":1},"
	"\"script\":null,\"stat\":[],\"trusted\":[]}\n";

/* A fixed Ed25519 key, so the genuine signature (Ed25519 is deterministic)
 * is the same every run and the corpus seed genuine.json verifies. */
static const char ed_private[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ4FPrIf2ADvvJXyrVhoSGeoCddy99msdh6jY4TV6GK4\n"
	"-----END PRIVATE KEY-----\n"
;
static const char ed_public[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEAGb0R0XfZeohlaTQtzp1kKXg8eVSXMNi9ac8SZ5A4/F8=\n"
	"-----END PUBLIC KEY-----\n"
;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *s = fz_scratch();
	snprintf(dir, sizeof(dir), "%s/sb", s);
	char p[4400], key[4400];
	snprintf(p, sizeof(p), "%s/manifests", dir);
	mkdir(dir, 0755);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/manifests/app.json", dir);
	fz_write(p, manifest, strlen(manifest));
	unsigned char h[32];
	char hex[65];
	sha256_buf(manifest, strlen(manifest), h);
	hex_encode(h, 32, hex);
	char *index = xasprintf("{\"format\":\"sgxpy-bundle/1\",\"images\":{\"app\":\"%s\"},\"root\":\"app\"}\n", hex);
	snprintf(p, sizeof(p), "%s/bundle.json", dir);
	fz_write(p, index, strlen(index));
	free(index);
	struct sg_err err;
	snprintf(key, sizeof(key), "%s/ed.key", s);
	snprintf(ed_pub, sizeof(ed_pub), "%s.pub", key);
	fz_write(key, ed_private, strlen(ed_private));
	fz_write(ed_pub, ed_public, strlen(ed_public));
	if (sign_bundle(dir, key, &err) < 0)
		fz_fail("harness: %s", err.msg);
	snprintf(key, sizeof(key), "%s/rsa.key", s);
	snprintf(rsa_pub, sizeof(rsa_pub), "%s.pub", key);
	if (sign_keygen(key, KEY_RSA3072_E3, &err) < 0)
		fz_fail("harness: %s", err.msg);
	snprintf(sig_path, sizeof(sig_path), "%s/signature.json", dir);
	json_t *o = json_load_file(sig_path, 0, NULL);
	const char *sig = json_string_value(json_object_get(o, "signature"));
	if (!sig || hex_decode(sig, genuine, sizeof(genuine)) < 0)
		fz_fail("harness: no genuine signature");
	if (getenv("FUZZ_WRITE_SEED")) { /* print the genuine file for the corpus */
		char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		puts(text);
		free(text);
	}
	json_decref(o);
	if (bundle_measure(dir, measurement, &err) < 0)
		fz_fail("harness: %s", err.msg);
	if (sign_check(dir, measurement, ed_pub, &err) != 0)
		fz_fail("harness: genuine signature does not check: %s", err.msg);
	return 0;
}

static bool is_genuine(const uint8_t *data, size_t size)
{
	json_t *o = json_loadb((const char *)data, size, 0, NULL);
	const char *sig = json_string_value(json_object_get(o, "signature"));
	unsigned char bytes[64];
	bool yes = sig && hex_decode(sig, bytes, 64) == 0 && memcmp(bytes, genuine, 64) == 0;
	json_decref(o);
	return yes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	fz_write(sig_path, data, size);
	const char *keys[2] = {ed_pub, rsa_pub};
	for (int k = 0; k < 2; k++) {
		struct sg_err err = {{0}};
		int rc = sign_check(dir, measurement, keys[k], &err);
		if (rc < -1 || rc > 1 || (rc != 0 && !err.msg[0]))
			fz_fail("sign_check returned %d, message '%s'", rc, err.msg);
		if (rc == 0 && (k != 0 || !is_genuine(data, size)))
			fz_fail("sign_check accepted a signature that is not the genuine one (key %s)", keys[k]);
	}
	return 0;
}
