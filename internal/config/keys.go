package config

import (
	"crypto/rsa"
	"fmt"
	"os"

	// token is a leaf package (golang-jwt and the standard library only);
	// parsing keys once, there, keeps check-config and the signer agreeing.
	"github.com/jitsi-gate/jitsi-gate/internal/token"
)

// MinRSABits is the smallest RS256 key accepted.
const MinRSABits = 2048

// loadPrivateKey reads and parses an RS256 private key file.
func loadPrivateKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the key file: %w", err)
	}
	k, err := token.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if bits := k.N.BitLen(); bits < MinRSABits {
		return nil, fmt.Errorf("%s: the RSA key has %d bits, at least %d are needed", path, bits, MinRSABits)
	}
	return k, nil
}

// loadPublicKey reads and parses a (previous) RS256 public key file.
func loadPublicKey(path string) (*rsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the key file: %w", err)
	}
	k, err := token.ParsePublicKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
