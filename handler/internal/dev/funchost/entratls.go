package funchost

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// entraTLS is the dev issuer's TLS: a CA made at host start, whose key never
// leaves memory, and a certificate it signed for 127.0.0.1, ::1 and
// localhost. MSAL refuses authorities that are not https, so the issuer is
// served over TLS; the handler trusts the CA through SSL_CERT_FILE, which
// Go's crypto/x509 reads on Linux, with no code of its own.
type entraTLS struct {
	config *tls.Config
	caFile string // the CA, followed by the system's roots
}

// systemBundles are where Linux distributions keep their root bundle; the
// first found is appended to the CA file, so SSL_CERT_FILE adds our CA to
// the roots the handler trusts instead of replacing them.
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

func newEntraTLS(dir string) (*entraTLS, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dev issuer CA: %w", err)
	}
	ca := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "funchost dev Entra CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("dev issuer CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("dev issuer CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dev issuer certificate: %w", err)
	}
	leaf := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("dev issuer certificate: %w", err)
	}

	bundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	for _, f := range systemBundles {
		if b, err := os.ReadFile(f); err == nil {
			bundle = append(append(bundle, '\n'), b...)
			break
		}
	}
	// Next to the staged app, where local tools (cmd/sample) find it.
	// Absolute: the handler runs in its own working directory.
	caFile, err := filepath.Abs(filepath.Join(dir, "entra-ca.pem"))
	if err != nil {
		return nil, fmt.Errorf("dev issuer CA file: %w", err)
	}
	if err := os.WriteFile(caFile, bundle, 0o644); err != nil {
		return nil, fmt.Errorf("dev issuer CA file: %w", err)
	}
	return &entraTLS{
		config: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key}},
		},
		caFile: caFile,
	}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// EntraCAFile returns the file of PEM certificates the handler trusts
// (SSL_CERT_FILE) when the dev issuer is served over https: the dev CA,
// then the system's roots. It is "" otherwise.
func (h *Host) EntraCAFile() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.entraTLS == nil {
		return ""
	}
	return h.entraTLS.caFile
}
