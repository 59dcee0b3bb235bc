package doctor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Prosody's mod_reservations, as docs/reference/jitsi-rooms-and-sso.md §1
// describes it: the request it sends and what it accepts in return.
const (
	// prosodyStartTime is how the module writes start_time (§1.3).
	prosodyStartTime = "2006-01-02T15:04:05.000Z"
	// prosodyAPITimeout is reservations_api_timeout's default (§1.4).
	prosodyAPITimeout = 20 * time.Second
	// SlowReservation is when doctor calls an answer slow: Prosody holds
	// the first join of a room until the API answers.
	SlowReservation = time.Second
)

// startTimeForms are the start_time values util.datetime.parse accepts
// (§1.8): date, 'T', time, optional fraction, then Z, an offset or nothing.
var startTimeForms = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$`)

// reservationAnswer is one HTTP exchange with the reservation API.
type reservationAnswer struct {
	status  int
	body    []byte
	elapsed time.Duration
}

// postConference sends what Prosody sends for the first join of node
// (§1.3): a form with name, start_time and mail_owner, and the
// reservations_api_headers, here the bearer token.
func (d *run) postConference(ctx context.Context, prefix, bearer, node string, now time.Time) (reservationAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	form := url.Values{
		"name":       {node},
		"start_time": {now.UTC().Format(prosodyStartTime)},
		// Under token auth Prosody sends a random JID here (§1.3); this
		// one says who asked, for the gateway's audit log.
		"mail_owner": {"jitsi-gate-doctor@" + d.s.XMPPDomain},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, prefix+"/conference", strings.NewReader(form.Encode()))
	if err != nil {
		return reservationAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Prosody (jitsi-gate doctor)")
	req.Header.Set("Authorization", "Bearer "+bearer)
	start := time.Now()
	body, status, err := d.exchange(req)
	return reservationAnswer{status: status, body: body, elapsed: time.Since(start)}, err
}

// checkReservations calls the reservation API at the gateway's public URL
// the way Prosody will and judges the answer by what mod_reservations
// accepts: the room is doctor's test room, so under
// unregistered_rooms: deny a 403 with a message is the right answer.
func (d *run) checkReservations(ctx context.Context) Section {
	r := d.s.Reservations
	sec := Section{Title: "Reservation API (" + r.APIPrefix + "/conference)"}
	add := func(st Status, title, detail string) {
		sec.Checks = append(sec.Checks, Check{Status: st, Title: title, Detail: detail})
	}
	node := TestRoom
	if t := d.opts.Config.Jitsi.PathTenant(); t != "" {
		node = "[" + t + "]" + TestRoom
	}
	now := d.opts.Now()
	a, err := d.postConference(ctx, r.APIPrefix, d.opts.Config.Reservations.Token, node, now)
	post := "Prosody's POST for " + node
	switch {
	case err != nil && isTimeout(err):
		add(Fail, fmt.Sprintf("%s: no answer within %s", post, d.opts.Timeout),
			fmt.Sprintf("Prosody waits %s, then refuses the room with 500 \"Reservation lookup timed out\" and does "+
				"not retry: while the API hangs, no new room opens (rooms already running go on).", prosodyAPITimeout))
		return sec
	case err != nil:
		add(Fail, post+": "+err.Error(),
			"Prosody cannot reach the API either if it uses this URL (PROSODY_RESERVATION_REST_BASE_URL / "+
				"reservations_api_prefix): it retries 3 times, 3 s apart, then every new room fails with "+
				"\"Error code: 0, message: Rejected by reservation server\". Is jitsi-gate running, and does the "+
				"proxy forward this path? An https URL also needs a certificate Prosody trusts.")
		return sec
	}
	slow := a.elapsed > SlowReservation
	switch {
	case a.status == http.StatusUnauthorized:
		add(Fail, post+": 401, the token was refused",
			"the gateway answering at this URL has another reservations.token than this config. Prosody sends the "+
				"token from reservations_api_headers (docker: XMPP_CONFIGURATION), which jitsi-config prints from "+
				"this config: restart jitsi-gate after changing the token, give every replica the same one, and "+
				"check that the proxy passes the Authorization header. Until then every new room fails with code 401.")
		return sec
	case a.status == http.StatusNotFound || a.status == http.StatusMethodNotAllowed:
		add(Fail, fmt.Sprintf("%s: HTTP %d, no reservation API here", post, a.status),
			"the running jitsi-gate does not serve the reservation API: reservations.token must be set in the "+
				"config it was started with (restart it after adding one), and the proxy must forward "+
				r.APIPrefix+"/. Until then Prosody refuses every new room.")
		return sec
	case a.status == http.StatusOK || a.status == http.StatusCreated:
		if problems := conferenceProblems(a.body, node, now); len(problems) > 0 {
			add(Fail, fmt.Sprintf("%s: %d, but mod_reservations would reject the answer", post, a.status),
				"Prosody refuses the room with 500 \"Invalid response from reservation server\" (or, for a bad name or "+
					"start_time, never answers the user): "+strings.Join(problems, "; ")+".")
		} else {
			add(OK, fmt.Sprintf("%s: %d, a reservation mod_reservations accepts", post, a.status), "")
		}
	case a.status >= 500:
		add(Fail, fmt.Sprintf("%s: HTTP %d", post, a.status),
			"Prosody retries 5xx 3 times, 3 s apart, then refuses the room with this code; the gateway's log says why "+
				"(a room store that is down answers 503).")
		return sec
	case a.status == http.StatusForbidden:
		// The test room is not registered: refused under
		// unregistered_rooms: deny, which is what users of such a room see.
		if msg, ok := jsonMessage(a.body); ok {
			add(OK, fmt.Sprintf("%s: 403 with the message users read: %q", post, msg), "")
		} else {
			add(Warn, post+": 403 without a JSON message",
				"users read only \"Rejected by reservation server\"; jitsi-gate answers {\"message\": …}: is another "+
					"server answering at this URL?")
		}
	default:
		add(Fail, fmt.Sprintf("%s: HTTP %d", post, a.status),
			"Prosody refuses every room with an answer other than 200, 201 or 409 (redirects are not followed).")
		return sec
	}
	if slow {
		add(Warn, fmt.Sprintf("the answer took %s", a.elapsed.Round(time.Millisecond)),
			"Prosody holds the first join of every room until the API answers; it should answer in milliseconds. "+
				"Check the database (store) and the network between Prosody and jitsi-gate.")
	}

	// The same request with a token nobody has must be refused, or the
	// API is open to anyone who can reach it.
	wrong := make([]byte, 16)
	if _, err := rand.Read(wrong); err != nil {
		return sec
	}
	b, err := d.postConference(ctx, r.APIPrefix, hex.EncodeToString(wrong), node, now)
	switch {
	case err != nil:
		add(Warn, "the request with a wrong token failed: "+err.Error(), "doctor could not check that the API refuses wrong tokens.")
	case b.status == http.StatusUnauthorized:
		add(OK, "a wrong token is refused (401)", "")
	default:
		add(Fail, fmt.Sprintf("a wrong token got HTTP %d, not 401", b.status),
			"whatever answers at this URL does not check the token: anyone who reaches it can ask for rooms. "+
				"Is it jitsi-gate?")
	}
	return sec
}

// conferenceProblems lists why mod_reservations would refuse a 200/201
// body for node (§1.5, §1.8); none means it accepts it.
func conferenceProblems(body []byte, node string, now time.Time) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return []string{"the body is not a JSON object"}
	}
	var p []string
	switch name, ok := m["name"].(string); {
	case !ok:
		p = append(p, fmt.Sprintf("name is %s, not a string", describe(m["name"])))
	case strings.ToLower(name) != node:
		p = append(p, fmt.Sprintf("name %q is not the room %q Prosody asked for", name, node))
	}
	switch id := m["id"].(type) {
	case nil:
		p = append(p, "id is missing or null")
	case string:
		if id == "" {
			p = append(p, "id is empty")
		}
	default:
		p = append(p, fmt.Sprintf("id is %s: Prosody reads JSON numbers as floats and would send DELETE "+
			"/conference/%v.0; send a string", describe(id), id))
	}
	if m["mail_owner"] == nil {
		p = append(p, "mail_owner is missing or null")
	}
	var duration float64
	switch v := m["duration"].(type) {
	case json.Number:
		duration, _ = v.Float64()
	case string:
		if _, err := fmt.Sscan(v, &duration); err != nil {
			p = append(p, fmt.Sprintf("duration %q is not a number of seconds", v))
		}
	default:
		p = append(p, fmt.Sprintf("duration is %s, not a number of seconds", describe(v)))
	}
	var start time.Time
	switch v := m["start_time"].(type) {
	case string:
		if t, ok := parseStartTime(v); ok {
			start = t
		} else {
			p = append(p, fmt.Sprintf("start_time %q is not a time Prosody reads (2026-09-07T08:00:00.000Z)", v))
		}
	default:
		p = append(p, fmt.Sprintf("start_time is %s, not a string", describe(v)))
	}
	if !start.IsZero() && duration > 0 && start.Add(time.Duration(duration*float64(time.Second))).Before(now) {
		p = append(p, "start_time + duration is already past: users get 419 \"Reservation expired\"")
	}
	if v, ok := m["max_occupants"]; ok {
		n, isNum := v.(json.Number)
		i, err := n.Int64()
		if !isNum || err != nil || i < 1 {
			p = append(p, fmt.Sprintf("max_occupants is %s, not a whole number ≥ 1", describe(v)))
		}
	}
	if v, ok := m["password"]; ok {
		if _, isString := v.(string); !isString {
			p = append(p, fmt.Sprintf("password is %s, not a string", describe(v)))
		}
	}
	return p
}

// parseStartTime reads start_time in the forms util.datetime.parse
// accepts; without a zone it is UTC.
func parseStartTime(v string) (time.Time, bool) {
	m := startTimeForms.FindStringSubmatch(v)
	if m == nil {
		return time.Time{}, false
	}
	zone := m[3]
	if zone == "" {
		zone = "Z"
	}
	t, err := time.Parse("2006-01-02T15:04:05Z07:00", m[1]+zone)
	return t, err == nil
}

// describe names a JSON value's kind for a message.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "missing or null"
	case json.Number:
		return "the number " + v.String()
	case string:
		return fmt.Sprintf("the string %q", v)
	case bool:
		return fmt.Sprintf("%t", v)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// jsonMessage returns the "message" of a JSON error body, the text
// Prosody shows the user (§1.5).
func jsonMessage(body []byte) (string, bool) {
	var m struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Message == nil {
		return "", false
	}
	return *m.Message, true
}

// isTimeout reports whether err is a request that ran out of time.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
