package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/calfeed"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
)

// Calendars (internal/calfeed):
//
//   - GET  <public_url>/calendar            the user's feed address, with a
//     copy button and a form for a new address (signed in)
//   - POST <public_url>/calendar/new        a new address; the old one stops
//     working (the crossOrigin middleware refuses other sites' posts)
//   - GET  <public_url>/calendar/{token}.ics the feed; the address is the
//     credential, calendar clients send no cookie
//   - GET  <public_url>/rooms/{id}.ics      one room's .ics file, for those
//     who see the room (admins, its organizers and participants)

// feedCacheControl lets a calendar client (or the user's browser) keep a
// feed for a while, but no shared cache: the URL is a credential. The
// ETag lets polling clients get 304 when nothing changed.
const feedCacheControl = "private, max-age=300"

// calendarPage is the data of calendar.html.
type calendarPage struct {
	// FeedURL is the subscription address; "" when it cannot be shown.
	FeedURL string
	// Subscribe is FeedURL as a webcal:// link, which calendar apps open.
	Subscribe template.URL
	// RenewAction is the form that makes a new address.
	RenewAction string
	// Renewed: the address was just replaced.
	Renewed bool
}

// handleCalendarPage shows the user's feed address, making it on the first
// visit; each visit records the user's current groups with the feed.
func handleCalendarPage(s *site, feeds *calfeed.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if feeds == nil {
			s.fail(w, r, http.StatusNotFound, "", "error.not_found")
			return
		}
		u, ok := s.requireSignIn(w, r, target.Target{}, nil)
		if !ok {
			return
		}
		addr, err := feeds.Address(r.Context(), u.Identity)
		if err != nil {
			s.storeUnavailable(w, r, s.path("/calendar"), "calendar feed unavailable", err, "user", u.Subject)
			return
		}
		data := calendarPage{FeedURL: addr.URL, RenewAction: s.path("/calendar/new"),
			Renewed: r.URL.Query().Get("renewed") == "1"}
		if rest, ok := strings.CutPrefix(addr.URL, "https://"); ok {
			data.Subscribe = template.URL("webcal://" + rest) // our own address: safe
		} else if rest, ok := strings.CutPrefix(addr.URL, "http://"); ok {
			data.Subscribe = template.URL("webcal://" + rest)
		}
		s.render(w, r, http.StatusOK, "calendar", "calendar.heading", &u, data)
	})
}

// handleCalendarRenew replaces the user's feed address and shows the new one.
func handleCalendarRenew(s *site, feeds *calfeed.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if feeds == nil {
			s.fail(w, r, http.StatusNotFound, "", "error.not_found")
			return
		}
		u, ok := s.requireSignIn(w, r, target.Target{}, nil)
		if !ok {
			return
		}
		if _, err := feeds.Renew(r.Context(), u.Identity); err != nil {
			s.storeUnavailable(w, r, s.path("/calendar"), "calendar feed not renewed", err, "user", u.Subject)
			return
		}
		s.log.InfoContext(r.Context(), "calendar feed address renewed", "backend", u.Backend, "user", u.Username)
		http.Redirect(w, r, s.path("/calendar?renewed=1"), http.StatusSeeOther)
	})
}

// handleCalendarFeed serves a feed by its secret address. Unknown, revoked
// and malformed addresses are all 404.
func handleCalendarFeed(s *site, feeds *calfeed.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
		if feeds == nil || !ok {
			s.fail(w, r, http.StatusNotFound, "", "error.not_found")
			return
		}
		body, err := feeds.Feed(r.Context(), token)
		if errors.Is(err, calfeed.ErrNotFound) {
			s.fail(w, r, http.StatusNotFound, "", "error.not_found")
			return
		}
		if err != nil {
			s.storeUnavailable(w, r, "", "calendar feed unavailable", err)
			return
		}
		serveCalendar(w, r, body, feedCacheControl, "")
	})
}

// handleRoomCalendar serves one room's .ics file to those who see the room
// (as the JSON API decides: admins, organizers and participants); a room
// someone may not see is 404 for them, like one that does not exist.
func handleRoomCalendar(s *site, registry *rooms.Service, pol *policy.Policy, feeds *calfeed.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
		if registry == nil || feeds == nil || !ok || id == "" {
			s.fail(w, r, http.StatusNotFound, "", "error.not_found")
			return
		}
		u, ok := s.requireSignIn(w, r, target.Target{}, nil)
		if !ok {
			return
		}
		rm, ok := s.roomFor(w, r, registry, sessionCaller(pol, u.Identity, "page"), id)
		if !ok {
			return
		}
		body, err := feeds.Room(rm)
		if err != nil {
			s.handleError(w, r, err, "")
			return
		}
		serveCalendar(w, r, body, "private, no-cache", rm.Name+".ics")
	})
}

// serveCalendar writes iCalendar bytes with an ETag (If-None-Match gives
// 304); filename, when set, makes it a download.
func serveCalendar(w http.ResponseWriter, r *http.Request, body []byte, cacheControl, filename string) {
	sum := sha256.Sum256(body)
	h := w.Header()
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", `"`+base64.RawURLEncoding.EncodeToString(sum[:18])+`"`)
	if filename != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// logPath is a request path as logs may show it: the token of a feed
// address is a credential, so /calendar/<token>.ics is logged without it.
func logPath(p string) string {
	i := strings.LastIndex(p, "/calendar/")
	if i < 0 || !strings.HasSuffix(p, ".ics") {
		return p
	}
	return p[:i] + "/calendar/[redacted].ics"
}
