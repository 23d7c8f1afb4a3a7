// Package infracheck holds the tests that hold infra/'s Bicep to the
// security and region promises (no shared keys, TLS 1.2, the two EU
// regions only, the intended roles only, secrets only as Key Vault
// references). The syntax of every file is checked by
// tools/bicep/check.mjs in make test.
package infracheck
