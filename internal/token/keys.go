package token

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strings"
)

// ReadPrivateKeyFile reads an RS256 private key from a PEM file.
func ReadPrivateKeyFile(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the key file: %w", err)
	}
	k, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if bits := k.N.BitLen(); bits < MinRSABits {
		return nil, fmt.Errorf("%s: the RSA key has %d bits, at least %d are needed", path, bits, MinRSABits)
	}
	return k, nil
}

// ReadPublicKeyFile reads an RSA public key (or certificate) from a PEM file.
func ReadPublicKeyFile(path string) (*rsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the key file: %w", err)
	}
	k, err := ParsePublicKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParsePrivateKeyPEM reads the first private key in PEM data (PKCS#1
// "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY"); other blocks such as
// certificates are skipped.
func ParsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	rest := data
	found := false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		found = true
		if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("token: encrypted PEM not supported; decrypt the key (openssl pkey -in key.pem -out plain.pem)")
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("token: parse PKCS#1 private key: %w", err)
			}
			return key, nil
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("token: parse PKCS#8 private key: %w", err)
			}
			key, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("token: not an RSA key (PKCS#8 holds %T)", k)
			}
			return key, nil
		case "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "DSA PRIVATE KEY":
			return nil, fmt.Errorf("token: not an RSA key (PEM block %q)", block.Type)
		}
	}
	if !found {
		return nil, errors.New("token: no PEM data found")
	}
	return nil, errors.New("token: no private key in PEM data")
}

// ParsePublicKeyPEM reads the first RSA public key in PEM data: SPKI
// "PUBLIC KEY", PKCS#1 "RSA PUBLIC KEY", or a "CERTIFICATE".
func ParsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	rest := data
	found := false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		found = true
		var (
			pub any
			err error
		)
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = cert.PublicKey
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("token: parse %s: %w", strings.ToLower(block.Type), err)
		}
		key, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("token: not an RSA key (%s holds %T)", strings.ToLower(block.Type), pub)
		}
		return key, nil
	}
	if !found {
		return nil, errors.New("token: no PEM data found")
	}
	return nil, errors.New("token: no public key or certificate in PEM data")
}

// GenerateKey makes a new RSA key of at least MinRSABits bits.
func GenerateKey(bits int) (*rsa.PrivateKey, error) {
	if bits < MinRSABits {
		return nil, fmt.Errorf("token: RSA key size %d is below %d bits", bits, MinRSABits)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("token: generate RSA key: %w", err)
	}
	return key, nil
}

// EncodePrivateKeyPEM encodes key as PKCS#8 "PRIVATE KEY". It returns nil
// only for a key that crypto/x509 refuses to encode (an invalid key).
func EncodePrivateKeyPEM(key *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// EncodePublicKeyPEM encodes pub as SPKI "PUBLIC KEY", the form prosody's
// luaossl pkey.new expects from the ASAP key server.
func EncodePublicKeyPEM(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("token: encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// NewKeyID derives a kid from the key itself, so a new key always gets a
// new kid (prosody caches keys per kid until it restarts): prefix, a '-'
// unless prefix already ends in '-', '_' or '.', and the first 8 hex digits
// of sha256(SPKI). Characters of prefix outside [A-Za-z0-9_.-] become '-'.
func NewKeyID(pub *rsa.PublicKey, prefix string) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		der = x509.MarshalPKCS1PublicKey(pub)
	}
	sum := sha256.Sum256(der)
	fp := hex.EncodeToString(sum[:4])
	p := []byte(prefix)
	for i, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			p[i] = '-'
		}
	}
	if len(p) == 0 {
		return fp
	}
	if last := p[len(p)-1]; last != '-' && last != '_' && last != '.' {
		p = append(p, '-')
	}
	return string(p) + fp
}

// PublicKeySet is what prosody may fetch: the signing key's public half
// plus retired keys that still verify unexpired tokens during rotation.
// Immutable after construction; safe for concurrent use.
type PublicKeySet struct {
	pems map[string][]byte // ASAPFileName(kid) → SPKI PEM
	jwks []byte
}

// NewPublicKeySet indexes keys (kid → key) for ASAP lookups and builds the
// JWKS document once.
func NewPublicKeySet(keys map[string]*rsa.PublicKey) (*PublicKeySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("token: public key set is empty")
	}
	kids := make([]string, 0, len(keys))
	for kid := range keys {
		kids = append(kids, kid)
	}
	sort.Strings(kids)

	type jwk struct {
		Kty string `json:"kty"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		N   string `json:"n"`
		E   string `json:"e"`
	}
	set := &PublicKeySet{pems: make(map[string][]byte, len(keys))}
	doc := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(kids))}
	for _, kid := range kids {
		pub := keys[kid]
		if err := checkKeyID(kid); err != nil {
			return nil, err
		}
		if pub == nil || pub.N == nil {
			return nil, fmt.Errorf("token: public key for kid %q is nil", kid)
		}
		if bits := pub.N.BitLen(); bits < MinRSABits {
			return nil, fmt.Errorf("token: public key for kid %q has %d bits, need at least %d", kid, bits, MinRSABits)
		}
		p, err := EncodePublicKeyPEM(pub)
		if err != nil {
			return nil, fmt.Errorf("token: kid %q: %w", kid, err)
		}
		set.pems[ASAPFileName(kid)] = p
		doc.Keys = append(doc.Keys, jwk{
			Kty: "RSA", Use: "sig", Alg: "RS256", Kid: kid,
			N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("token: encode JWKS: %w", err)
	}
	set.jwks = b
	return set, nil
}

// PEM returns the SPKI PEM for an ASAP file name ("<64 hex>.pem"), as
// requested by prosody. The returned slice is shared: do not modify it.
func (k *PublicKeySet) PEM(asapFileName string) ([]byte, bool) {
	p, ok := k.pems[asapFileName]
	return p, ok
}

// JWKS returns the RFC 7517 key set for prosody's cache_keys_url, keys in
// kid order. The returned slice is shared: do not modify it.
func (k *PublicKeySet) JWKS() []byte { return k.jwks }
