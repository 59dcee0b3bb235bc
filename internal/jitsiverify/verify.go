// Package jitsiverify checks a token the way Jitsi's Prosody does
// (luajwtjitsi plus token/util.lib.lua, docs/reference/jitsi-contract.md §1), written from
// the contract with the standard library only, so that it does not share a
// JWT library, and therefore bugs, with the minting side (package token).
//
// It is used by tests, by the stand-in Jitsi page in browser tests and by
// the doctor command. Error texts start with Prosody's own wording ("Invalid
// typ", "Not acceptable by exp", "room-mismatch", …) so that they can be
// matched against a Prosody log.
package jitsiverify

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512" // registers SHA-384/512 for crypto.Hash.New
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Errors with Prosody's wording. Verify wraps some of them with detail;
// use errors.Is.
var (
	ErrInvalidToken       = errors.New("Invalid token")
	ErrBadTokenFormat     = errors.New("bad token format")
	ErrInvalidTyp         = errors.New("Invalid typ")
	ErrInvalidAlg         = errors.New("Invalid or incorrect alg")
	ErrKidMissing         = errors.New("'kid' claim is missing")
	ErrAlgMissing         = errors.New("'alg' claim is missing")
	ErrKidNotRS           = errors.New("'kid' claim only support with RS family")
	ErrNoPublicKey        = errors.New("could not obtain public key")
	ErrExpNotNumber       = errors.New("exp must be number")
	ErrNbfNotNumber       = errors.New("nbf must be number")
	ErrInvalidSignature   = errors.New("Invalid signature")
	ErrExpired            = errors.New("Not acceptable by exp")
	ErrNotYetValid        = errors.New("Not acceptable by nbf")
	ErrIssMissing         = errors.New("'iss' claim is missing")
	ErrIssInvalid         = errors.New("invalid 'iss' claim")
	ErrAudMissing         = errors.New("'aud' claim is missing")
	ErrAudInvalid         = errors.New("invalid 'aud' claim")
	ErrSubMissing         = errors.New("sub claim is missing")
	ErrRoomMissing        = errors.New("'room' claim is missing")
	ErrRoomMismatch       = errors.New("room-mismatch")
	ErrMisconfigured      = errors.New("jitsiverify: misconfigured")
	ErrClaimTypeNotString = errors.New("claim is not a string")
)

// maxKeyCache mirrors prosody's jwt_pubkey_cache_size default.
const maxKeyCache = 128

// Config mirrors the prosody VirtualHost options. A Config must not be
// copied after its first Verify (it holds the key cache).
type Config struct {
	AppID     string // app_id; the default accepted issuer
	AppSecret string // app_secret: HS* mode

	// ASAPKeyServer (asap_key_server) selects RS* mode: the key for kid is
	// fetched from <ASAPKeyServer>/<sha256hex(kid)>.pem and cached per kid
	// with no expiry, successes only, like prosody.
	ASAPKeyServer string
	HTTPClient    *http.Client // default http.DefaultClient

	// SignatureAlgorithm (signature_algorithm) defaults like prosody:
	// RS256 with ASAPKeyServer, else HS256.
	SignatureAlgorithm string

	AcceptedIssuers   []string // asap_accepted_issuers; default {AppID}; "*" accepts any
	AcceptedAudiences []string // asap_accepted_audiences; default {"*"}

	// EnableDomainVerification (enable_domain_verification): CheckRoom
	// also requires sub to be the tenant, or XMPPDomain without one.
	EnableDomainVerification bool
	XMPPDomain               string

	// RoomClaimOptional is asap_require_room_claim = false.
	RoomClaimOptional bool

	Now func() time.Time // default time.Now

	mu   sync.Mutex
	keys map[string]*rsa.PublicKey
}

// Verified is a token that passed Verify.
type Verified struct {
	Header   map[string]any
	Claims   map[string]any
	Room     string // "room" claim as sent ("" only with RoomClaimOptional)
	Subject  string
	User     map[string]any // context.user (or {"id": user_id}); nil if absent
	Features map[string]any // context.features; nil if absent

	domainVerification bool
	xmppDomain         string
}

func (c *Config) algorithm() string {
	switch {
	case c.SignatureAlgorithm != "":
		return c.SignatureAlgorithm
	case c.ASAPKeyServer != "":
		return "RS256"
	default:
		return "HS256"
	}
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Verify checks token in prosody's order: key lookup by kid (RS mode),
// segments, typ, alg, exp/nbf types, signature, exp, nbf (no leeway), iss,
// aud, then the presence of room and sub.
func (c *Config) Verify(ctx context.Context, token string) (*Verified, error) {
	alg := c.algorithm()
	if c.AppID == "" {
		return nil, fmt.Errorf("%w: 'app_id' must not be empty", ErrMisconfigured)
	}
	h, ok := hashFor(alg)
	if !ok {
		return nil, fmt.Errorf("%w: algorithm %q not supported", ErrMisconfigured, alg)
	}

	var key any
	if c.ASAPKeyServer != "" {
		// util.lib.lua reads kid from the first segment before calling
		// luajwtjitsi, so these come first.
		first, _, found := strings.Cut(token, ".")
		if !found {
			return nil, ErrInvalidToken
		}
		var hdr map[string]any
		if err := decodeSegment(first, &hdr); err != nil {
			return nil, ErrBadTokenFormat
		}
		kid, ok := hdr["kid"].(string)
		if hdr["kid"] == nil {
			return nil, ErrKidMissing
		}
		if !ok {
			return nil, fmt.Errorf("%w: kid is not a string", ErrBadTokenFormat)
		}
		a, _ := hdr["alg"].(string)
		if hdr["alg"] == nil {
			return nil, ErrAlgMissing
		}
		if !strings.HasPrefix(a, "RS") {
			return nil, ErrKidNotRS
		}
		pub, err := c.publicKey(ctx, kid)
		if err != nil {
			return nil, err
		}
		key = pub
	} else {
		if c.AppSecret == "" {
			return nil, fmt.Errorf("%w: need app_secret or asap_key_server", ErrMisconfigured)
		}
		key = []byte(c.AppSecret)
	}

	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrInvalidToken
	}
	var v Verified
	if err := decodeSegment(parts[0], &v.Header); err != nil {
		return nil, ErrInvalidToken
	}
	if err := decodeSegment(parts[1], &v.Claims); err != nil {
		return nil, ErrInvalidToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, ErrInvalidToken
	}
	if typ, _ := v.Header["typ"].(string); typ != "JWT" {
		return nil, ErrInvalidTyp
	}
	if a, _ := v.Header["alg"].(string); a != alg {
		return nil, ErrInvalidAlg
	}
	exp, hasExp, ok := number(v.Claims, "exp")
	if !ok {
		return nil, ErrExpNotNumber
	}
	nbf, hasNbf, ok := number(v.Claims, "nbf")
	if !ok {
		return nil, ErrNbfNotNumber
	}
	if err := verifySignature(alg, h, parts[0]+"."+parts[1], sig, key); err != nil {
		return nil, err
	}

	now := float64(c.now().Unix()) // prosody compares with os.time(): whole seconds
	if hasExp && now >= exp {
		iat, _, _ := number(v.Claims, "iat")
		return nil, fmt.Errorf("%w (%d sec since expired, valid for: %d sec)", ErrExpired, int64(now-exp), int64(exp-iat))
	}
	if hasNbf && now < nbf {
		return nil, ErrNotYetValid
	}

	issuers := c.AcceptedIssuers
	if len(issuers) == 0 {
		issuers = []string{c.AppID}
	}
	if err := verifyClaim(v.Claims, "iss", issuers, ErrIssMissing, ErrIssInvalid); err != nil {
		return nil, err
	}
	audiences := c.AcceptedAudiences
	if len(audiences) == 0 {
		audiences = []string{"*"}
	}
	if err := verifyClaim(v.Claims, "aud", audiences, ErrAudMissing, ErrAudInvalid); err != nil {
		return nil, err
	}

	if r, present := v.Claims["room"]; present {
		s, ok := r.(string)
		if !ok {
			return nil, fmt.Errorf("room: %w", ErrClaimTypeNotString)
		}
		v.Room = s
	} else if !c.RoomClaimOptional {
		return nil, ErrRoomMissing
	}
	sub, present := v.Claims["sub"]
	if !present || sub == nil {
		return nil, ErrSubMissing
	}
	if v.Subject, ok = sub.(string); !ok {
		return nil, fmt.Errorf("sub: %w", ErrClaimTypeNotString)
	}

	if cx, ok := v.Claims["context"].(map[string]any); ok {
		v.User, _ = cx["user"].(map[string]any)
		v.Features, _ = cx["features"].(map[string]any)
	} else if id, present := v.Claims["user_id"]; present {
		v.User = map[string]any{"id": id}
	}
	v.domainVerification = c.EnableDomainVerification
	v.xmppDomain = c.XMPPDomain
	return &v, nil
}

// CheckRoom is prosody's verify_room for a join of room (the backend-safe
// name, the MUC node without "[tenant]") in tenant ("" for none).
func (v *Verified) CheckRoom(room, tenant string) error {
	authRoom := asciiLower(v.Room)
	if authRoom != "*" && authRoom != room {
		return fmt.Errorf("%w: token room %q, joining %q", ErrRoomMismatch, v.Room, room)
	}
	if !v.domainVerification {
		return nil // sub and tenant are not checked at all
	}
	want := tenant
	if tenant == "" {
		want = v.xmppDomain
	}
	if sub := asciiLower(v.Subject); sub != "*" && sub != want {
		if tenant == "" {
			return fmt.Errorf("%w: token sub %q, XMPP domain %q", ErrRoomMismatch, v.Subject, want)
		}
		return fmt.Errorf("%w: token sub %q, tenant %q", ErrRoomMismatch, v.Subject, tenant)
	}
	return nil
}

// Owner is token_affiliation's test: affiliation owner, moderator or
// teacher, or moderator true / "true".
func (v *Verified) Owner() bool {
	switch v.User["affiliation"] {
	case "owner", "moderator", "teacher":
		return true
	}
	switch v.User["moderator"] {
	case true, "true":
		return true
	}
	return false
}

// verifyClaim is luajwtjitsi's verify_claim: "*" accepts anything present;
// otherwise only an equal string matches (an array never does).
func verifyClaim(claims map[string]any, name string, accepted []string, errMissing, errInvalid error) error {
	v, present := claims[name]
	if !present || v == nil {
		return errMissing
	}
	s, isString := v.(string)
	for _, a := range accepted {
		if a == "*" || isString && s == a {
			return nil
		}
	}
	return errInvalid
}

// number reports a claim that, if present, must be a JSON number (a JSON
// null counts as present: cjson decodes it to a truthy value).
func number(claims map[string]any, name string) (n float64, present, ok bool) {
	v, present := claims[name]
	if !present {
		return 0, false, true
	}
	f, isNum := v.(float64)
	return f, true, isNum
}

func decodeSegment(seg string, dst any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

func hashFor(alg string) (crypto.Hash, bool) {
	switch alg {
	case "HS256", "RS256":
		return crypto.SHA256, true
	case "HS384", "RS384":
		return crypto.SHA384, true
	case "HS512", "RS512":
		return crypto.SHA512, true
	}
	return 0, false
}

func verifySignature(alg string, h crypto.Hash, signed string, sig []byte, key any) error {
	switch k := key.(type) {
	case []byte:
		if !strings.HasPrefix(alg, "HS") {
			return fmt.Errorf("%w: %s needs a public key, app_secret given", ErrMisconfigured, alg)
		}
		m := hmac.New(h.New, k)
		m.Write([]byte(signed))
		if !hmac.Equal(m.Sum(nil), sig) {
			return ErrInvalidSignature
		}
	case *rsa.PublicKey:
		if !strings.HasPrefix(alg, "RS") {
			return fmt.Errorf("%w: %s needs app_secret, a key server is configured", ErrMisconfigured, alg)
		}
		d := h.New()
		d.Write([]byte(signed))
		if err := rsa.VerifyPKCS1v15(k, h, d.Sum(nil), sig); err != nil {
			return ErrInvalidSignature
		}
	default:
		return fmt.Errorf("%w: key type %T", ErrMisconfigured, key)
	}
	return nil
}

// publicKey returns the cached key for kid or fetches it. Like prosody,
// failures are not cached, and a full cache evicts an arbitrary entry.
func (c *Config) publicKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	c.mu.Lock()
	k, ok := c.keys[kid]
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	k, err := c.fetchKey(ctx, kid)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoPublicKey, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		c.keys = make(map[string]*rsa.PublicKey)
	}
	if len(c.keys) >= maxKeyCache {
		for old := range c.keys {
			delete(c.keys, old)
			break
		}
	}
	c.keys[kid] = k
	return k, nil
}

func (c *Config) fetchKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	sum := sha256.Sum256([]byte(kid))
	url := c.ASAPKeyServer + "/" + hex.EncodeToString(sum[:]) + ".pem"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	client := c.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return nil, fmt.Errorf("fetch %s: status %d", url, resp.StatusCode)
	}
	return parsePublicKey(body)
}

// parsePublicKey accepts what luaossl's pkey.new reads for this purpose:
// an SPKI "PUBLIC KEY" (or PKCS#1 "RSA PUBLIC KEY") PEM.
func parsePublicKey(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("response is not PEM")
	}
	var (
		pub any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a public key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, not RSA", pub)
	}
	return k, nil
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
