// Package token mints the JWTs Jitsi's Prosody accepts (docs/reference/jitsi-contract.md
// §0–§2, §7) and publishes the public keys Prosody fetches for RS256.
//
// The wire format is fixed by Prosody's luajwtjitsi and token/util.lib.lua,
// not by JWT best practice: "typ":"JWT" is mandatory, "aud" must be a JSON
// string (an array never matches a configured audience), "room" is the
// backend-safe room name and never "*", and "nbf" is back-dated because
// Prosody has no clock-skew leeway.
package token

import (
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
)

// NotBeforeSkew is how far "nbf" is back-dated from "iat": Prosody rejects
// a token while now < nbf with no leeway, so a gateway clock a few seconds
// ahead of Prosody's would otherwise break every fresh login.
const NotBeforeSkew = 60 * time.Second

// Key-size minimums.
const (
	MinHMACSecretBytes = 32
	MinRSABits         = 2048
)

// User is context.user. Everything in it may be broadcast to the other
// participants, so it carries display data only.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Email is optional.
	Email string `json:"email,omitempty"`
	// Affiliation is "owner" or "member"; token_affiliation makes
	// owner/moderator/teacher an owner and everything else a member.
	Affiliation string `json:"affiliation,omitempty"`
	Moderator   bool   `json:"moderator"`
	// LobbyBypass is read by jitsi-contrib token_lobby_bypass, which
	// accepts only a JSON boolean true (never the string "true").
	LobbyBypass *bool `json:"lobby_bypass,omitempty"`
	// Lobby is read by token_lobby_ondemand (opts the user into the lobby).
	Lobby *bool `json:"lobby,omitempty"`
}

// Context is the "context" claim.
type Context struct {
	User User `json:"user"`
	// Features overrides the moderator-based defaults when present: every
	// key left out then counts as false server-side, so nil (omitted) is
	// usually what you want.
	Features map[string]bool `json:"features,omitempty"`
}

// Claims is what a caller decides; Mint derives the rest.
type Claims struct {
	Issuer   string // "iss": one of prosody's asap_accepted_issuers
	Audience string // "aud": serialised as a JSON string
	Subject  string // "sub": the lower-case tenant, or the XMPP domain without one
	Room     string // "room": room.Name.Safe; never "*"
	// IssuedAt is "iat"; "nbf" is IssuedAt - NotBeforeSkew.
	IssuedAt  time.Time
	ExpiresAt time.Time
	Context   Context
}

// wireClaims is the exact JSON payload. Its own struct (rather than
// jwt.RegisteredClaims) keeps "aud" a string without touching golang-jwt's
// global MarshalSingleStringAsArray, and the times plain integers.
type wireClaims struct {
	Issuer    string  `json:"iss"`
	Audience  string  `json:"aud"`
	Subject   string  `json:"sub"`
	Room      string  `json:"room"`
	IssuedAt  int64   `json:"iat"`
	NotBefore int64   `json:"nbf"`
	ExpiresAt int64   `json:"exp"`
	Context   Context `json:"context"`
}

var _ jwt.Claims = (*wireClaims)(nil)

func numericDate(sec int64) *jwt.NumericDate { return jwt.NewNumericDate(time.Unix(sec, 0)) }

func (c *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return numericDate(c.ExpiresAt), nil
}
func (c *wireClaims) GetIssuedAt() (*jwt.NumericDate, error)  { return numericDate(c.IssuedAt), nil }
func (c *wireClaims) GetNotBefore() (*jwt.NumericDate, error) { return numericDate(c.NotBefore), nil }
func (c *wireClaims) GetIssuer() (string, error)              { return c.Issuer, nil }
func (c *wireClaims) GetSubject() (string, error)             { return c.Subject, nil }
func (c *wireClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

// Signer mints tokens with one key. It is immutable after construction and
// safe for concurrent use.
type Signer struct {
	method jwt.SigningMethod
	key    any // []byte for HS256, *rsa.PrivateKey for RS256
	kid    string
	// header is base64url(header JSON) + ".", computed once: it is the
	// same for every token.
	header string
	// macs holds keyed HMAC-SHA256 states (*macState) for HS256 (nil
	// for RS256): hmac.New hashes the key into the inner and outer pads
	// and allocates both digests, per token with golang-jwt's Sign; a
	// pooled state only needs a Reset.
	macs *sync.Pool
	// sigLen is the signature's length in bytes.
	sigLen int
}

// macState is a keyed HMAC-SHA256 and room for its sum.
type macState struct {
	mac hash.Hash
	sum [sha256.Size]byte
}

// NewHS256 returns a signer for prosody's app_secret mode.
func NewHS256(secret []byte) (*Signer, error) {
	if len(secret) < MinHMACSecretBytes {
		return nil, fmt.Errorf("token: HS256 secret is %d bytes, need at least %d", len(secret), MinHMACSecretBytes)
	}
	key := make([]byte, len(secret))
	copy(key, secret)
	s, err := newSigner(jwt.SigningMethodHS256, key, "")
	if err != nil {
		return nil, err
	}
	s.macs = &sync.Pool{New: func() any { return &macState{mac: hmac.New(sha256.New, key)} }}
	s.sigLen = sha256.Size
	return s, nil
}

// NewRS256 returns a signer for prosody's asap_key_server mode. keyID is
// the "kid" header; prosody fetches <asap_key_server>/ASAPFileName(kid) and
// caches the key per kid forever, so a new key needs a new kid.
func NewRS256(key *rsa.PrivateKey, keyID string) (*Signer, error) {
	if key == nil {
		return nil, errors.New("token: RS256 key is nil")
	}
	if bits := key.N.BitLen(); bits < MinRSABits {
		return nil, fmt.Errorf("token: RSA key has %d bits, need at least %d", bits, MinRSABits)
	}
	if err := checkKeyID(keyID); err != nil {
		return nil, err
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("token: invalid RSA key: %w", err)
	}
	key.Precompute()
	s, err := newSigner(jwt.SigningMethodRS256, key, keyID)
	if err != nil {
		return nil, err
	}
	s.sigLen = key.Size()
	return s, nil
}

// PublicKey is the RS256 public key, nil for HS256.
func (s *Signer) PublicKey() *rsa.PublicKey {
	if k, ok := s.key.(*rsa.PrivateKey); ok {
		return &k.PublicKey
	}
	return nil
}

func newSigner(method jwt.SigningMethod, key any, kid string) (*Signer, error) {
	h := struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid,omitempty"`
	}{method.Alg(), "JWT", kid}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("token: encode header: %w", err)
	}
	return &Signer{
		method: method,
		key:    key,
		kid:    kid,
		header: base64.RawURLEncoding.EncodeToString(b) + ".",
	}, nil
}

// checkKeyID allows printable ASCII without quotes or backslashes: the kid
// ends up in JSON, logs and prosody's Lua, and need not be more.
func checkKeyID(kid string) error {
	if kid == "" {
		return errors.New("token: RS256 needs a key id (kid)")
	}
	if len(kid) > 200 {
		return errors.New("token: key id is longer than 200 characters")
	}
	for i := 0; i < len(kid); i++ {
		if c := kid[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return fmt.Errorf("token: key id %q contains %q; use letters, digits, '-', '_' and '.'", kid, c)
		}
	}
	return nil
}

// Algorithm returns "HS256" or "RS256".
func (s *Signer) Algorithm() string { return s.method.Alg() }

// KeyID returns the kid header value, or "" for HS256.
func (s *Signer) KeyID() string { return s.kid }

// Mint signs c. It fails on missing iss/aud/sub/room, a "*" room or sub
// (wildcards defeat per-room access control), a room that is not a
// backend-safe name, or an expiry not after the issue time.
func (s *Signer) Mint(c Claims) (string, error) {
	if err := c.validate(); err != nil {
		return "", err
	}
	iat := c.IssuedAt.Unix()
	wire := wireClaims{
		Issuer:    c.Issuer,
		Audience:  c.Audience,
		Subject:   c.Subject,
		Room:      c.Room,
		IssuedAt:  iat,
		NotBefore: iat - int64(NotBeforeSkew/time.Second),
		ExpiresAt: c.ExpiresAt.Unix(),
		Context:   c.Context,
	}
	enc := base64.RawURLEncoding
	// The payload JSON goes to a stack buffer (a typical one is about 400
	// bytes); the token is built in one allocation of its exact size.
	var scratch [1024]byte
	payload := appendPayload(scratch[:0], &wire)
	buf := make([]byte, 0, len(s.header)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(s.sigLen))
	buf = append(buf, s.header...)
	buf = enc.AppendEncode(buf, payload)
	if s.macs != nil {
		// HS256: the same HMAC-SHA256 as jwt.SigningMethodHS256.Sign
		// (the token test verifies with golang-jwt).
		st := s.macs.Get().(*macState)
		st.mac.Reset()
		st.mac.Write(buf)
		sig := st.mac.Sum(st.sum[:0])
		buf = append(buf, '.')
		buf = enc.AppendEncode(buf, sig)
		s.macs.Put(st)
	} else {
		sig, err := s.method.Sign(string(buf), s.key)
		if err != nil {
			return "", fmt.Errorf("token: sign %s: %w", s.method.Alg(), err)
		}
		buf = append(buf, '.')
		buf = enc.AppendEncode(buf, sig)
	}
	// buf is not touched again: the token shares its bytes, as
	// strings.Builder does.
	return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
}

func (c *Claims) validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"iss", c.Issuer}, {"aud", c.Audience}, {"sub", c.Subject}, {"room", c.Room},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("token: missing claims %v", missing)
	}
	if c.Room == "*" || c.Subject == "*" {
		return errors.New(`token: "*" wildcards are not minted for room or sub`)
	}
	for i := 0; i < len(c.Room); i++ {
		if !isSafeRoomByte(c.Room[i]) {
			return fmt.Errorf("token: room %q is not a backend-safe room name", c.Room)
		}
	}
	if c.IssuedAt.IsZero() || c.ExpiresAt.IsZero() {
		return errors.New("token: IssuedAt and ExpiresAt are required")
	}
	if c.ExpiresAt.Unix() <= c.IssuedAt.Unix() {
		return fmt.Errorf("token: expiry %s is not after issue time %s", c.ExpiresAt.UTC(), c.IssuedAt.UTC())
	}
	return nil
}

// isSafeRoomByte: the output alphabet of encodeURIComponent after Jitsi's
// lower-casing, i.e. what room.Name.Safe can contain.
func isSafeRoomByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '%', '-', '_', '.', '!', '~', '*', '\'', '(', ')':
		return true
	}
	return false
}

// ASAPFileName is the file prosody requests from asap_key_server for kid:
// lower-case hex of sha256(kid) plus ".pem" (util.lib.lua).
func ASAPFileName(kid string) string {
	sum := sha256.Sum256([]byte(kid))
	return hex.EncodeToString(sum[:]) + ".pem"
}
