/* sign.c - see sign.h.
 *
 * What is signed: the bytes "sgxpy-bundle-measurement/1\0" followed by the
 * 32-byte measurement (SHA-256 of bundle.json).  The prefix keeps a bundle
 * signature from ever being valid for any other use of the same key. */
#include "manifest/sign.h"
#include "common/bundle.h"
#include "common/hash.h"
#include "common/json.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char domain[] = "sgxpy-bundle-measurement/1";

static int ssl_fail(struct sg_err *err, const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return sg_fail(err, "%s: %s", what, e ? buf : "OpenSSL error");
}

static EVP_PKEY *generate(enum key_type type, struct sg_err *err)
{
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(type == KEY_ED25519 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA, NULL);
	BIGNUM *e = BN_new();
	if (!ctx || !e || EVP_PKEY_keygen_init(ctx) <= 0)
		goto fail;
	if (type == KEY_RSA3072_E3) {
		/* SGX's enclave signing key: 3072 bits, e = 3. */
		if (!BN_set_word(e, 3) || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 3072) <= 0 ||
		    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) <= 0)
			goto fail;
	}
	if (EVP_PKEY_keygen(ctx, &key) <= 0)
		goto fail;
	EVP_PKEY_CTX_free(ctx);
	BN_free(e);
	return key;
fail:
	ssl_fail(err, "cannot generate a key");
	EVP_PKEY_CTX_free(ctx);
	BN_free(e);
	return NULL;
}

/* Write PEM text to path atomically with the given mode. */
static int write_pem(const char *path, EVP_PKEY *key, bool private, mode_t mode, struct sg_err *err)
{
	BIO *mem = BIO_new(BIO_s_mem());
	int ok = private ? PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL)
			 : PEM_write_bio_PUBKEY(mem, key);
	if (!ok) {
		BIO_free(mem);
		return ssl_fail(err, "cannot encode the key");
	}
	char *data;
	long len = BIO_get_mem_data(mem, &data);
	struct atomic_file af;
	int rc = atomic_file_open(&af, path, err);
	if (rc == 0 && (fchmod(af.fd, mode) < 0 || write_all(af.fd, data, (size_t)len) < 0)) {
		rc = sg_fail_errno(err, "cannot write %s", path);
		atomic_file_abort(&af);
	} else if (rc == 0) {
		rc = atomic_file_commit(&af, err);
	}
	BIO_free(mem);
	return rc;
}

int sign_keygen(const char *path, enum key_type type, struct sg_err *err)
{
	cleanup_free char *pub = xasprintf("%s.pub", path);
	if (access(path, F_OK) == 0)
		return sg_fail(err, "%s exists: not overwriting a key", path);
	EVP_PKEY *key = generate(type, err);
	if (!key)
		return -1;
	int rc = write_pem(path, key, true, 0600, err);
	if (rc == 0)
		rc = write_pem(pub, key, false, 0644, err);
	EVP_PKEY_free(key);
	return rc;
}

/* Never prompt: OpenSSL's default would read a passphrase from the terminal
 * (and hang a script); encrypted keys are refused instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/* A private key, or failing that a public key, from a PEM file. */
static EVP_PKEY *load_key(const char *path, bool need_private, struct sg_err *err)
{
	cleanup_free char *data = NULL;
	size_t len;
	if (read_small_file(path, 1 << 20, &data, &len, err) < 0)
		return NULL;
	BIO *b = BIO_new_mem_buf(data, (int)len);
	EVP_PKEY *key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	if (!key && !need_private) {
		BIO_free(b);
		b = BIO_new_mem_buf(data, (int)len);
		key = PEM_read_bio_PUBKEY(b, NULL, no_passphrase, NULL);
	}
	BIO_free(b);
	ERR_clear_error();
	if (!key) {
		sg_fail(err, "%s: not an unencrypted PEM %s key", path,
			need_private ? "private" : "private or public");
		return NULL;
	}
	int id = EVP_PKEY_get_base_id(key);
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
		EVP_PKEY_free(key);
		sg_fail(err, "%s: only RSA and Ed25519 keys are supported", path);
		return NULL;
	}
	if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) < 2048) {
		EVP_PKEY_free(key);
		sg_fail(err, "%s: RSA key shorter than 2048 bits", path);
		return NULL;
	}
	return key;
}

static const char *algorithm(EVP_PKEY *key)
{
	return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? "ed25519" : "rsa-pkcs1v15-sha256";
}

static void message(const unsigned char m[32], unsigned char out[sizeof(domain) + 32])
{
	memcpy(out, domain, sizeof(domain)); /* includes the NUL */
	memcpy(out + sizeof(domain), m, 32);
}

static const EVP_MD *digest_for(EVP_PKEY *key)
{
	/* Ed25519 hashes internally (PureEdDSA): no digest may be given. */
	return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
}

static char *public_pem(EVP_PKEY *key)
{
	BIO *mem = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(mem, key);
	char *data;
	long len = BIO_get_mem_data(mem, &data);
	char *s = xstrndup(data, (size_t)len);
	BIO_free(mem);
	return s;
}

int sign_bundle(const char *dir, const char *keyfile, struct sg_err *err)
{
	struct bundle *b;
	if (bundle_load(dir, &b, err) < 0) /* never sign a bundle that does not check */
		return -1;
	unsigned char msg[sizeof(domain) + 32];
	message(b->measurement, msg);
	bundle_free(b);
	EVP_PKEY *key = load_key(keyfile, true, err);
	if (!key)
		return -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 0, len;
	unsigned char *sig = NULL;
	cleanup_free char *text = NULL;
	cleanup_free char *path = xasprintf("%s/signature.json", dir);
	int rc = -1;
	if (EVP_DigestSignInit(ctx, NULL, digest_for(key), NULL, key) <= 0 ||
	    EVP_DigestSign(ctx, NULL, &siglen, msg, sizeof(msg)) <= 0) {
		ssl_fail(err, "cannot sign");
		goto out;
	}
	sig = xmalloc(siglen);
	if (EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg)) <= 0) {
		ssl_fail(err, "cannot sign");
		goto out;
	}
	char mhex[65];
	hex_encode(msg + sizeof(domain), 32, mhex);
	char *shex = xmalloc(2 * siglen + 1);
	hex_encode(sig, siglen, shex);
	char *pem = public_pem(key);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "format", "sgxpy-signature/1", "algorithm",
			      algorithm(key), "measurement", mhex, "public_key", pem, "signature", shex);
	free(shex);
	free(pem);
	text = json_canonical(o, &len);
	json_decref(o);
	struct atomic_file af;
	rc = -2; /* from here on, failures are the system's */
	if (atomic_file_open(&af, path, err) < 0)
		goto out;
	if (write_all(af.fd, text, len) < 0) {
		sg_fail_errno(err, "cannot write %s", path);
		atomic_file_abort(&af);
		goto out;
	}
	rc = atomic_file_commit(&af, err) < 0 ? -2 : 0;
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return rc;
}

/* Parse signature.json; -1 with err naming the field when malformed. */
static int read_signature(const char *path, unsigned char m[32], unsigned char **sig, size_t *siglen,
			  EVP_PKEY **embedded, struct sg_err *err)
{
	cleanup_free char *data = NULL;
	size_t len;
	if (read_small_file(path, 1 << 20, &data, &len, err) < 0)
		return -1;
	json_error_t je;
	json_t *o = json_loadb(data, len, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return sg_fail(err, "%s: bad JSON: %s", path, je.text);
	}
	const char *fmt, *mh, *sh, *pem;
	int rc = -1;
	if (jstring(o, "format", path, "format", &fmt, err) < 0 ||
	    jstring(o, "measurement", path, "measurement", &mh, err) < 0 ||
	    jstring(o, "signature", path, "signature", &sh, err) < 0 ||
	    jstring(o, "public_key", path, "public_key", &pem, err) < 0)
		goto out;
	if (strcmp(fmt, "sgxpy-signature/1") != 0) {
		sg_fail(err, "%s: format: '%s' is not sgxpy-signature/1", path, fmt);
		goto out;
	}
	if (hex_decode(mh, m, 32) < 0) {
		sg_fail(err, "%s: measurement: expected 64 hex digits", path);
		goto out;
	}
	*siglen = strlen(sh) / 2;
	*sig = xmalloc(*siglen + 1);
	if (*siglen == 0 || *siglen > 1024 || hex_decode(sh, *sig, *siglen) < 0) {
		free(*sig);
		*sig = NULL;
		sg_fail(err, "%s: signature: expected hex digits", path);
		goto out;
	}
	BIO *b = BIO_new_mem_buf(pem, -1);
	*embedded = PEM_read_bio_PUBKEY(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	ERR_clear_error();
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* Fill err like sg_fail but return 1: a mismatch, not a failure to check. */
static int mismatch(struct sg_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int mismatch(struct sg_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return 1;
}

int sign_check(const char *dir, const unsigned char measurement[32], const char *keyfile,
	       struct sg_err *err)
{
	cleanup_free char *path = xasprintf("%s/signature.json", dir);
	if (access(path, F_OK) < 0)
		return mismatch(err, "%s: missing (the bundle is not signed)", path);
	EVP_PKEY *key = load_key(keyfile, false, err);
	if (!key)
		return -1;
	unsigned char listed[32], *sig = NULL;
	size_t siglen = 0;
	EVP_PKEY *embedded = NULL;
	int rc = read_signature(path, listed, &sig, &siglen, &embedded, err);
	if (rc == 0 && embedded && EVP_PKEY_eq(key, embedded) != 1)
		rc = mismatch(err, "%s: signed by another key than %s", path, keyfile);
	if (rc == 0 && memcmp(listed, measurement, 32) != 0)
		rc = mismatch(err, "%s: measurement differs from bundle.json's", path);
	if (rc == 0) {
		unsigned char msg[sizeof(domain) + 32];
		message(measurement, msg);
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		if (EVP_DigestVerifyInit(ctx, NULL, digest_for(key), NULL, key) <= 0 ||
		    EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg)) != 1)
			rc = mismatch(err, "%s: signature does not verify with %s", path, keyfile);
		ERR_clear_error();
		EVP_MD_CTX_free(ctx);
	}
	free(sig);
	EVP_PKEY_free(embedded);
	EVP_PKEY_free(key);
	return rc;
}
