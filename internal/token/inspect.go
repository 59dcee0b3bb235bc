package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Inspect decodes a token's header and claims WITHOUT verifying it, as
// indented JSON, for the preview page and the command-line tools that show
// an admin what Jitsi will read.
func Inspect(jwt string) (header, claims string, err error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", "", errors.New("token: not three dot-separated parts")
	}
	pretty := func(name, seg string) (string, error) {
		raw, err := base64.RawURLEncoding.DecodeString(seg)
		if err != nil {
			return "", fmt.Errorf("token: %s is not base64url: %w", name, err)
		}
		var out bytes.Buffer
		if err := json.Indent(&out, raw, "", "  "); err != nil {
			return "", fmt.Errorf("token: %s is not JSON: %w", name, err)
		}
		return out.String(), nil
	}
	if header, err = pretty("header", parts[0]); err != nil {
		return "", "", err
	}
	if claims, err = pretty("claims", parts[1]); err != nil {
		return "", "", err
	}
	return header, claims, nil
}
