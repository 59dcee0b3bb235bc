// Package prosodytest plays Prosody's mod_reservations in tests: it builds
// the form POST the module sends and checks a 200 body the way the module
// reads it (parse_conference_response), plus what running the real module
// showed (docs/reference/jitsi-rooms-and-sso.md §1.5, §1.8).
package prosodytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Owner is what Prosody sends as mail_owner under token auth: a random
// JID, useless for deciding.
const Owner = "6c1f0a52-3b8e-4e55-9d1a-2f4c8d7e9b10@meet.jitsi"

// Encode is Prosody's net.http formencode for a name→value table: pairs()
// order (Go's map order is just as unspecified), every byte but
// [A-Za-z0-9] as %xx in lower-case hex, space as '+'.
func Encode(fields map[string]string) string {
	part := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
				b.WriteByte(c)
			case c == ' ':
				b.WriteByte('+')
			default:
				fmt.Fprintf(&b, "%%%02x", c)
			}
		}
		return b.String()
	}
	pairs := make([]string, 0, len(fields))
	for k, v := range fields {
		pairs = append(pairs, part(k)+"="+part(v))
	}
	return strings.Join(pairs, "&")
}

// JavaDate is mod_reservations' to_java_date_string of os.time(): whole
// seconds, UTC, ".000Z".
func JavaDate(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05") + ".000Z"
}

// CreateBody is the form of the POST for the room node (lower case,
// "[tenant]room" with a tenant) at now.
func CreateBody(node string, now time.Time) string {
	return Encode(map[string]string{"name": node, "start_time": JavaDate(now), "mail_owner": Owner})
}

// NewRequest builds a request the way mod_reservations sends it: its
// User-Agent, the form content type when there is a body, and
// authorization (reservations_api_headers) unless it is "".
func NewRequest(method, url, body, authorization string) (*http.Request, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "Prosody (0.12.3; posix)")
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return req, nil
}

// timeRE is what Prosody's util.datetime.parse accepts (checked against
// the real module: optional fraction, then Z, an offset or nothing).
var timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$`)

// Check reads a 200 body the way parse_conference_response does for the
// room node and returns its fields; the error lists every reason Prosody
// (or the module's later steps) would reject it.
func Check(body []byte, node string) (map[string]any, error) {
	var data map[string]any
	if err := json.Unmarshal(body, &data); err != nil {
		return nil, fmt.Errorf("body %s is not a JSON object: %w", body, err)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if name, ok := data["name"].(string); !ok || strings.ToLower(name) != node {
		bad("name = %#v, want %q", data["name"], node)
	}
	if id, ok := data["id"].(string); !ok || id == "" {
		bad("id = %#v, want a non-empty string (numbers come back as 7.0)", data["id"])
	}
	if mo, ok := data["mail_owner"].(string); !ok || mo == "" {
		bad("mail_owner = %#v, want a non-empty string", data["mail_owner"])
	}
	if d, ok := data["duration"].(float64); !ok || d != math.Trunc(d) || d <= 0 {
		bad("duration = %#v, want a positive whole number", data["duration"])
	}
	if st, ok := data["start_time"].(string); !ok || !timeRE.MatchString(st) {
		bad("start_time = %#v, want a string util.datetime.parse reads", data["start_time"])
	}
	if v, present := data["max_occupants"]; present {
		if n, ok := v.(float64); !ok || n < 1 || n != math.Trunc(n) {
			bad("max_occupants = %#v: Prosody would reject the whole reservation", v)
		}
	}
	if v, present := data["lobby"]; present && v != true {
		bad("lobby = %#v, want true or absent", v)
	}
	if v, present := data["password"]; present {
		if _, ok := v.(string); !ok {
			bad("password = %#v: Prosody would reject the whole reservation", v)
		}
	}
	return data, errors.Join(errs...)
}

// ExpiresAt is Prosody's expires_at of a checked body: start_time +
// duration.
func ExpiresAt(data map[string]any) (time.Time, error) {
	st, _ := data["start_time"].(string)
	start, err := time.Parse("2006-01-02T15:04:05.000Z", st)
	if err != nil {
		return time.Time{}, fmt.Errorf("start_time %q: %w", st, err)
	}
	d, _ := data["duration"].(float64)
	return start.Add(time.Duration(d) * time.Second), nil
}
