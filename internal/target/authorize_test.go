package target

import (
	"encoding/base64"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// TestAuthorizeContinuation: the inline sign-in parameters survive the
// login links and the flow cookie form byte for byte (the state is echoed
// to Jitsi), and only the authorize parameters are kept.
func TestAuthorizeContinuation(t *testing.T) {
	j := &Jitsi{URL: &url.URL{Scheme: "https", Host: "meet.example.com"}}
	state := `{"room":"Mathe-Übung","roomSafe":"mathe-%c3%bcbung","refreshToken":"a+b/c=&x"}`
	authorize := url.Values{"client_id": {"jitsi"}, "response_type": {"code"}, "state": {state},
		"redirect_uri": {"https://meet.example.com/static/sso.html"}, "code_challenge": {"abc"},
		"code_challenge_method": {"S256"}, "nonce": {"n0"}}
	name, err := j.FromState(state)
	if err != nil {
		t.Fatal(err)
	}
	name.Authorize = authorize
	for _, form := range []string{"query", "encoded"} {
		var back Target
		switch form {
		case "query":
			back, err = j.Parse(name.Room.Safe, name.Query(false))
		case "encoded":
			back, err = j.Decode(name.Encode())
		}
		if err != nil {
			t.Fatalf("%s: %v", form, err)
		}
		if !reflect.DeepEqual(back.Authorize, authorize) {
			t.Errorf("%s: continuation = %v, want %v", form, back.Authorize, authorize)
		}
		if back.Authorize.Get("state") != state {
			t.Errorf("%s: state changed: %q", form, back.Authorize.Get("state"))
		}
	}

	extra := url.Values{"client_id": {"jitsi"}, "next": {"https://evil.example"}, "redirect": {"//evil"}}
	q := url.Values{"sso": {base64.RawURLEncoding.EncodeToString([]byte(extra.Encode()))}}
	got, err := j.Parse("", q)
	if err != nil {
		t.Fatal(err)
	}
	if want := (url.Values{"client_id": {"jitsi"}}); !reflect.DeepEqual(got.Authorize, want) {
		t.Errorf("unknown parameters kept: %v", got.Authorize)
	}

	for name, bad := range map[string]string{
		"not base64": "%%%",
		"too long":   strings.Repeat("A", base64.RawURLEncoding.EncodedLen(maxAuthorizeBytes)+4),
	} {
		if _, err := j.Parse("", url.Values{"sso": {bad}}); !errors.Is(err, ErrBad) {
			t.Errorf("%s: %v, want ErrBad", name, err)
		}
	}
}
