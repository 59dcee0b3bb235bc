package reservation

import (
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
)

// TestDecisionsAreTheMetricsLabels: the words Observe reports are the
// metrics package's decision labels (anything else is exported as
// "other").
func TestDecisionsAreTheMetricsLabels(t *testing.T) {
	for got, want := range map[string]string{
		DecisionAllowed: metrics.ReservationAllowed, DecisionAllowedUnregistered: metrics.ReservationAllowedUnregistered,
		DecisionClosed: metrics.ReservationClosed, DecisionUnregistered: metrics.ReservationUnregistered,
		DecisionUnauthorized: metrics.ReservationUnauthorized, DecisionError: metrics.ReservationError,
	} {
		if got != want {
			t.Errorf("reservation decision %q, metrics label %q", got, want)
		}
	}
}

func TestObserveDecisions(t *testing.T) {
	authz := "Bearer " + testToken
	unregisteredAllowed := func(o *Options) { o.UnregisteredRooms = Allow }
	tests := []struct {
		name string
		mod  func(*Options)
		at   time.Time
		fail bool // the registry answers with an error
		req  func(f *fixture) *http.Request
		// want is the decision reported, "" for none.
		want string
	}{
		{name: "registered room in its window", req: postOf("mathe-7b"), want: DecisionAllowed},
		{name: "organizers' open-early margin", at: time.Date(2026, 9, 7, 5, 52, 0, 0, time.UTC), req: postOf("mathe-7b"), want: DecisionAllowed},
		{name: "registered room without schedule", req: postOf("lehrerzimmer"), want: DecisionAllowed},
		{name: "outside the window", at: time.Date(2026, 9, 7, 6, 45, 0, 0, time.UTC), req: postOf("mathe-7b"), want: DecisionClosed},
		{name: "unregistered refused", req: postOf("geheimraum"), want: DecisionUnregistered},
		{name: "unregistered allowed", mod: unregisteredAllowed, req: postOf("geheimraum"), want: DecisionAllowedUnregistered},
		{name: "GET after a 409", req: func(*fixture) *http.Request {
			return prosodyRequest(http.MethodGet, testPrefix+"/conference/r-101", "", authz)
		}, want: DecisionAllowed},
		{name: "wrong token", req: func(*fixture) *http.Request {
			return prosodyRequest(http.MethodPost, testPrefix+"/conference", "name=mathe-7b", "Bearer wrong")
		}, want: DecisionUnauthorized},
		{name: "registry down", fail: true, req: postOf("mathe-7b"), want: DecisionError},
		{name: "unusable registry id", req: postOf("kaputt"), want: DecisionError},
		{name: "a bad form decides nothing", req: func(*fixture) *http.Request {
			return prosodyRequest(http.MethodPost, testPrefix+"/conference", "mail_owner=x", authz)
		}},
		{name: "the end of a meeting decides nothing", req: func(*fixture) *http.Request {
			return prosodyRequest(http.MethodDelete, testPrefix+"/conference/r-101", "", authz)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			f := newFixture(t, func(o *Options) {
				if tt.mod != nil {
					tt.mod(o)
				}
				o.Observe = func(d string) {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, d)
				}
			})
			if !tt.at.IsZero() {
				f.now = tt.at
			}
			if tt.fail {
				f.rooms.err = errors.New("database is locked")
			}
			f.do(tt.req(f))
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, want) {
				t.Errorf("observed %v, want %v", got, want)
			}
		})
	}
}

// postOf is Prosody's POST /conference for node.
func postOf(node string) func(f *fixture) *http.Request {
	return func(f *fixture) *http.Request {
		body := prosodyEncode(map[string]string{"name": node, "start_time": javaDate(f.now), "mail_owner": prosodyOwner})
		return prosodyRequest(http.MethodPost, testPrefix+"/conference", body, "Bearer "+testToken)
	}
}
