package doctor

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/reservation"
)

const reservationsToken = "doctor-reservations-token-0123456789abcdef"

// registry is an in-memory room registry for the reservation handler.
type registry map[[2]string]reservation.Room

func (g registry) Lookup(_ context.Context, tenant, safe string) (reservation.Room, error) {
	if r, ok := g[[2]string{tenant, safe}]; ok {
		return r, nil
	}
	return reservation.Room{}, reservation.ErrNotFound
}

func (g registry) ByID(_ context.Context, id string) (reservation.Room, error) {
	for _, r := range g {
		if r.ID == id {
			return r, nil
		}
	}
	return reservation.Room{}, reservation.ErrNotFound
}

func (g registry) Ended(context.Context, string, time.Time) error { return nil }

// gatewayAPI is the gateway's own reservation handler, mounted where the
// stand-in gateway serves it.
func gatewayAPI(t *testing.T, token string, rooms registry, policy reservation.Policy) http.Handler {
	t.Helper()
	h, err := reservation.New(reservation.Options{Token: token, Prefix: "/_auth/reservations", Rooms: rooms,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), UnregisteredRooms: policy})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fixed answers every request with status and body.
func fixed(status int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

func TestReservationChecks(t *testing.T) {
	tests := []struct {
		name     string
		tenant   string // jitsi.url path
		policy   string
		api      func(t *testing.T) http.Handler
		timeout  time.Duration
		want     map[string]Status // title substring → status
		wantFail bool
	}{
		{
			name: "unregistered test room refused with a message",
			api: func(t *testing.T) http.Handler {
				return gatewayAPI(t, reservationsToken, registry{}, reservation.Deny)
			},
			want: map[string]Status{
				"for jitsi-gate-doctor: 403 with the message users read": OK,
				"a wrong token is refused (401)":                         OK,
			},
		},
		{
			name:   "unregistered rooms allowed: a reservation",
			policy: "allow",
			api: func(t *testing.T) http.Handler {
				return gatewayAPI(t, reservationsToken, registry{}, reservation.Allow)
			},
			want: map[string]Status{"200, a reservation mod_reservations accepts": OK, "a wrong token is refused": OK},
		},
		{
			name:   "registered room in a tenant, with lobby, password and size",
			tenant: "/school-a",
			api: func(t *testing.T) http.Handler {
				return gatewayAPI(t, reservationsToken, registry{{"school-a", TestRoom}: {ID: "r-1", Name: TestRoom,
					Tenant: "school-a", Lobby: true, Password: "pw", MaxOccupants: 3}}, reservation.Deny)
			},
			want: map[string]Status{"for [school-a]jitsi-gate-doctor: 200, a reservation mod_reservations accepts": OK},
		},
		{
			name: "token mismatch",
			api: func(t *testing.T) http.Handler {
				return gatewayAPI(t, "another-reservations-token-0123456789abcdef", registry{}, reservation.Deny)
			},
			want:     map[string]Status{"401, the token was refused": Fail},
			wantFail: true,
		},
		{
			name: "malformed reservation",
			api: func(*testing.T) http.Handler {
				return fixed(200, `{"id": 7, "name": "other-room", "mail_owner": null, "duration": "soon",
					"start_time": "2026-01-01 08:00:00", "max_occupants": 0, "password": 5}`)
			},
			want:     map[string]Status{"200, but mod_reservations would reject the answer": Fail},
			wantFail: true,
		},
		{
			name: "expired reservation",
			api: func(*testing.T) http.Handler {
				return fixed(200, `{"id": "r-1", "name": "jitsi-gate-doctor", "mail_owner": "x", "duration": 60,
					"start_time": "2020-01-01T08:00:00.000Z"}`)
			},
			want:     map[string]Status{"would reject the answer": Fail},
			wantFail: true,
		},
		{
			name:     "403 without a message",
			api:      func(*testing.T) http.Handler { return fixed(403, `Forbidden`) },
			want:     map[string]Status{"403 without a JSON message": Warn, "a wrong token got HTTP 403, not 401": Fail},
			wantFail: true,
		},
		{
			name:     "server error",
			api:      func(*testing.T) http.Handler { return fixed(503, `{"message": "store down"}`) },
			want:     map[string]Status{"for jitsi-gate-doctor: HTTP 503": Fail},
			wantFail: true,
		},
		{
			name:     "no API at the URL",
			api:      func(*testing.T) http.Handler { return nil },
			want:     map[string]Status{"HTTP 404, no reservation API here": Fail},
			wantFail: true,
		},
		{
			name: "hangs",
			api: func(*testing.T) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					// With the body read, the server notices the client
					// giving up and cancels r.Context().
					_, _ = io.Copy(io.Discard, r.Body)
					select {
					case <-r.Context().Done():
					case <-time.After(5 * time.Second):
					}
				})
			},
			timeout:  200 * time.Millisecond,
			want:     map[string]Status{"no answer within 200ms": Fail},
			wantFail: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t)
			s.configJS = goodConfigJS
			s.reservations = tt.api(t)
			policy := tt.policy
			if policy == "" {
				policy = "deny"
			}
			cfg := testConfigAt(t, s, s.jitsi.URL+tt.tenant, `{algorithm: HS256, secret: "`+testSecret+`"}`,
				`store: {driver: sqlite, path: doctor.db}`,
				`reservations: {token: "`+reservationsToken+`", unregistered_rooms: `+policy+`}`)
			r, err := Run(context.Background(), Options{Config: cfg, Grants: testGrants(t, cfg), Signer: hsSigner(t),
				Timeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			r.Write(&out)
			if r.Failed() != tt.wantFail {
				t.Errorf("Failed() = %v, want %v\n%s", r.Failed(), tt.wantFail, out.String())
			}
			for sub, st := range tt.want {
				c := findCheck(r, sub)
				if c == nil {
					t.Errorf("no check %q in\n%s", sub, out.String())
					continue
				}
				if c.Status != st {
					t.Errorf("check %q: status %s, want %s\n%s", sub, c.Status.Symbol(), st.Symbol(), out.String())
				}
			}
			if strings.Contains(out.String(), reservationsToken) {
				t.Error("the report prints the reservations token")
			}
		})
	}
}

func TestReservationSectionOnlyWhenEnabled(t *testing.T) {
	s := newStandIn(t)
	s.configJS = func(pub string) (int, string) {
		_, good := goodConfigJS(pub)
		return 200, good + "config.conferenceRequestUrl = 'https://meet.example.com/conference-request/v1';\n"
	}
	cfg := testConfig(t, s, `{algorithm: HS256, secret: "`+testSecret+`"}`)
	r, err := Run(context.Background(), Options{Config: cfg, Grants: testGrants(t, cfg), Signer: hsSigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	if findCheck(r, "conference") != nil || findCheck(r, "conferenceRequestUrl") != nil {
		t.Errorf("reservations are off, yet doctor checks them: %+v", r.Sections)
	}

	s.reservations = gatewayAPI(t, reservationsToken, registry{}, reservation.Deny)
	cfg = testConfig(t, s, `{algorithm: HS256, secret: "`+testSecret+`"}`,
		`reservations: {token: "`+reservationsToken+`"}`)
	r, err = Run(context.Background(), Options{Config: cfg, Grants: testGrants(t, cfg), Signer: hsSigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	if c := findCheck(r, "conferenceRequestUrl is set"); c == nil || c.Status != Fail {
		t.Errorf("want a ✗ for conferenceRequestUrl, got %+v", r.Sections)
	}
}

func TestConferenceProblems(t *testing.T) {
	now := time.Date(2026, 9, 7, 8, 10, 0, 0, time.UTC)
	good := `{"id": "r-1", "name": "[school-a]mathe7b", "mail_owner": "x", "duration": 3600,
		"start_time": "2026-09-07T08:00:00.000Z", "lobby": true, "password": "pw", "max_occupants": 30}`
	tests := []struct {
		name, body string
		want       []string // substrings of the problems; none: accepted
	}{
		{"well-formed", good, nil},
		{"duration as a numeric string, offset time", strings.NewReplacer(`3600`, `"36000"`, `.000Z`, `+02:00`).Replace(good), nil},
		{"time without zone is UTC", strings.Replace(good, `.000Z`, ``, 1), nil},
		{"name in other case", strings.Replace(good, `mathe7b`, `Mathe7B`, 1), nil},
		{"not JSON", `<html>`, []string{"not a JSON object"}},
		{"number id", strings.Replace(good, `"r-1"`, `101`, 1), []string{"id is the number 101", "/conference/101.0"}},
		{"null id", strings.Replace(good, `"r-1"`, `null`, 1), []string{"id is missing or null"}},
		{"other room", strings.Replace(good, `mathe7b`, `physik`, 1), []string{`name "[school-a]physik" is not the room`}},
		{"name a number", strings.Replace(good, `"[school-a]mathe7b"`, `7`, 1), []string{"name is the number 7"}},
		{"no mail_owner", strings.Replace(good, `"mail_owner": "x",`, ``, 1), []string{"mail_owner is missing"}},
		{"no duration", strings.Replace(good, `"duration": 3600,`, ``, 1), []string{"duration is missing"}},
		{"space instead of T", strings.Replace(good, `T08:00`, ` 08:00`, 1), []string{"start_time"}},
		{"start_time a number", strings.Replace(good, `"2026-09-07T08:00:00.000Z"`, `1788768000`, 1), []string{"start_time is the number"}},
		{"expired", strings.Replace(good, `3600`, `60`, 1), []string{"already past", "419"}},
		{"max_occupants 0", strings.Replace(good, `30`, `0`, 1), []string{"max_occupants is the number 0"}},
		{"max_occupants fraction", strings.Replace(good, `30`, `2.5`, 1), []string{"max_occupants is the number 2.5"}},
		{"password a number", strings.Replace(good, `"pw"`, `1234`, 1), []string{"password is the number 1234"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := conferenceProblems([]byte(tt.body), "[school-a]mathe7b", now)
			if len(tt.want) == 0 && len(got) > 0 {
				t.Errorf("problems %q, want none", got)
			}
			all := strings.Join(got, "; ")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems %q lack %q", got, w)
				}
			}
		})
	}
}
