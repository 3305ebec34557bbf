package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"path/filepath"
)

// TLSConfig makes the daemon serve HTTPS on Listen. It is enabled when both
// files are set; the key pair is read at start, so a renewed certificate
// takes effect on restart.
type TLSConfig struct {
	// CertFile is a PEM certificate chain, leaf first; KeyFile its private
	// key. A relative path is relative to the configuration file's
	// directory; after loading both hold the resolved path.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether the daemon serves HTTPS.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" }

// Load reads the key pair.
func (t TLSConfig) Load() (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load TLS key pair: %w", err)
	}
	return cert, nil
}

// validateTLS resolves the TLS file names and checks that the pair loads,
// so that check-config reports a bad certificate. The error of a key that
// does not parse names the problem, never key material.
func (l *loader) validateTLS(t *TLSConfig) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		l.fail("tls", errors.New("set both cert_file and key_file, or neither"))
		return
	}
	if !t.Enabled() {
		return
	}
	for _, f := range []*string{&t.CertFile, &t.KeyFile} {
		if !filepath.IsAbs(*f) {
			*f = filepath.Join(l.dir, *f)
		}
	}
	if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
		l.fail("tls", err)
	}
}
