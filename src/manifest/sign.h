/* sign.h - keys and signatures over a bundle's measurement (OpenSSL).
 *
 * Two key types.  The default is RSA-3072 with public exponent 3, PKCS#1 v1.5
 * over SHA-256: the key type SGX itself requires for enclave signing
 * (SIGSTRUCT), so the same PEM file can sign the sgxpy bundle and be passed to
 * `gramine-sgx-sign --key`.  Ed25519 is offered for users who do not need that:
 * smaller keys and signatures, deterministic, no padding choices. */
#ifndef SGXPY_SIGN_H
#define SGXPY_SIGN_H

#include "common/util.h"

enum key_type {
	KEY_RSA3072_E3,
	KEY_ED25519,
};

/* Write a new private key (PEM, mode 0600) to path and its public key to
 * path.pub; refuses to overwrite an existing key. */
int sign_keygen(const char *path, enum key_type type, struct sg_err *err);
/* Sign dir's measurement with the private key in keyfile: dir/signature.json.
 * -1: bad bundle or key (an input error); -2: the signature could not be
 * written (a system error: disk full, read-only bundle). */
int sign_bundle(const char *dir, const char *keyfile, struct sg_err *err);
/* Check dir/signature.json against the key in keyfile (private or public):
 * it must sign measurement, the SHA-256 of the bundle.json bytes the caller
 * loaded and goes on to use.  bundle.json is not read again here: a second
 * read could see other bytes (renamed in between) than the ones enforced.
 * 0: valid; 1: mismatch (err says what); -1: cannot check (err says why). */
int sign_check(const char *dir, const unsigned char measurement[32], const char *keyfile,
	       struct sg_err *err);

#endif
