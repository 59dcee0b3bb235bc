package web

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
	"github.com/jitsi-gate/jitsi-gate/internal/grant"
	"github.com/jitsi-gate/jitsi-gate/internal/i18n"
	"github.com/jitsi-gate/jitsi-gate/internal/policy"
	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
)

// welcomePage is the data of welcome.html: the front door. Signed out it
// offers the sign-in choice (and the room form, which asks for a sign-in
// first); signed in it is the user's day: the rooms they may join today
// with their state and a join button, the free room form where the rules
// allow unregistered rooms, and the links to the room pages.
type welcomePage struct {
	Room    string // pre-filled room (Display form)
	Error   string // translated problem with the room typed last time
	Action  string // the room form's action (GET /join)
	Login   string // link to the login page
	Preview bool

	SignedIn bool
	// ShowForm: the free room form (signed out: always, it leads to the
	// sign-in; signed in: when the rules let the user into unregistered
	// rooms).
	ShowForm bool
	Backends []signInChoice
	// Today are the rooms the user may join today; TodayKnown is false
	// when there is no registry (no "today" section at all).
	Today      []todayRoom
	TodayKnown bool
	// MyRooms links to the room pages (manage_rooms or admin), Calendar
	// to the personal calendar feed.
	MyRooms  string
	Calendar string
}

// signInChoice is one way to sign in on the welcome page.
type signInChoice struct {
	ID, Label, URL string
	Password       bool
}

// todayRoom is one room of the "today" list.
type todayRoom struct {
	Title, Display string
	Join           string
	// State is open, opens or ended; Opens is the clock time the user
	// may enter, Times the occurrence ("08:00–08:45"), empty for a room
	// that is always open.
	State, Opens, Times string
	Organizer           bool
	start               time.Time
}

// dashboard is what the welcome page needs to show a signed-in user's day.
type dashboard struct {
	rooms    *rooms.Service // nil: no registry
	policy   *policy.Policy
	backends *backendSet
	now      func() time.Time
}

// probeRoom is the room name the welcome page asks the rules about to
// decide whether to offer the free room form: any name the rules'
// patterns treat like a fresh room a user would make up.
const probeRoom = "new-room"

// page fills the welcome page for the request's user.
func (d *dashboard) page(s *site, w http.ResponseWriter, r *http.Request, base welcomePage) (*session.User, welcomePage) {
	base.Action, base.Login = s.path("/join"), s.path("/login")
	u, err := s.signedIn(w, r)
	if err != nil {
		// Signed out (or the login records cannot be read: then the
		// sign-in choice is the safe page to show).
		base.ShowForm = true
		for _, b := range d.backends.list {
			c := signInChoice{ID: b.ID, Label: b.Label, Password: b.Password, URL: s.path("/login/" + b.ID)}
			if b.Password {
				c.URL = s.path("/login") + "#form-" + b.ID
			}
			base.Backends = append(base.Backends, c)
		}
		return s.currentUser(r), base
	}
	base.SignedIn = true
	id := u.Identity
	base.ShowForm = d.policy.Evaluate(policy.Request{Identity: id, Room: probeRoom, Tenant: ""}).Allowed
	if rights := d.policy.Rights(id); rights.ManageRooms || rights.Admin {
		base.MyRooms = s.path("/rooms")
	}
	if d.rooms != nil {
		base.Calendar = s.path("/calendar")
		today, err := d.today(r.Context(), s.translator(r), id)
		if err != nil {
			s.log.ErrorContext(r.Context(), "welcome: room registry failed", "err", err)
		} else {
			base.Today, base.TodayKnown = today, true
		}
	}
	return &u, base
}

// today lists the rooms id may join today: rooms where they are an
// organizer or a participant (by name or group) whose rules allow them
// in, with an occurrence today in the room's timezone (or always open).
// Admins see their own rooms here, not every room.
func (d *dashboard) today(ctx context.Context, tr i18n.Translator, id auth.Identity) ([]todayRoom, error) {
	all, err := d.rooms.List(ctx, rooms.Filter{})
	if err != nil {
		return nil, err
	}
	now := d.now()
	var out []todayRoom
	for _, rm := range all {
		role := rm.RoleOf(id)
		if role == rooms.RoleNone {
			continue
		}
		// The rules as /join asks them (internal/grant).
		req := policy.Request{Identity: id, Room: rm.Display, Tenant: rm.Tenant, Registered: true, RoomRole: grant.RoomRole(role)}
		if !d.policy.Evaluate(req).Allowed {
			continue
		}
		item, ok := todayOf(rm, role == rooms.RoleOrganizer, now)
		if !ok {
			continue
		}
		item.Join = d.rooms.JoinURL(rm)
		out = append(out, item)
	}
	slices.SortStableFunc(out, func(a, b todayRoom) int { return a.start.Compare(b.start) })
	return out, nil
}

// todayOf is rm's entry for today, if it has one: the occurrence going on
// now, else the next one today, else the last one that ended today.
func todayOf(rm *rooms.Room, organizer bool, now time.Time) (todayRoom, bool) {
	item := todayRoom{Title: rm.Title, Display: rm.Display, Organizer: organizer}
	s := rm.Schedule
	if s.Unrestricted() {
		item.State = "open"
		return item, true
	}
	local := now.In(s.Location)
	y, m, dd := local.Date()
	dayStart := time.Date(y, m, dd, 0, 0, 0, 0, s.Location)
	dayEnd := time.Date(y, m, dd+1, 0, 0, 0, 0, s.Location)
	occ := s.Occurrences(dayStart, dayEnd)
	if len(occ) == 0 {
		return item, false
	}
	pick := occ[len(occ)-1]
	for _, o := range occ {
		if o.End.After(now) {
			pick = o
			break
		}
	}
	opens := pick.Start
	if organizer {
		opens = opens.Add(-s.OpenEarly)
	}
	switch {
	case rm.OpenFor(now, organizer).Open:
		// What /join decides, so Join is offered exactly when it works.
		item.State = "open"
	case !pick.End.After(now):
		item.State = "ended"
	default:
		item.State = "opens"
	}
	item.start = pick.Start
	item.Opens = opens.In(s.Location).Format("15:04")
	item.Times = pick.Start.In(s.Location).Format("15:04") + "–" + endClock(pick.End.In(s.Location))
	return item, true
}

// endClock is the clock time an occurrence ends: "24:00" for one that
// lasts until midnight, as people (and the room form) write it.
func endClock(end time.Time) string {
	if c := end.Format("15:04"); c != "00:00" {
		return c
	}
	return "24:00"
}

// handleWelcome is the front page (see welcomePage).
func handleWelcome(s *site, preview bool, dash *dashboard) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, data := dash.page(s, w, r, welcomePage{Preview: preview})
		s.render(w, r, http.StatusOK, "welcome", "welcome.heading", user, data)
	})
}

// handleJoinForm receives the welcome page's room form (GET /join?room=…)
// and sends the browser to the canonical /join/{room}. A bad name shows the
// welcome page again with the problem explained.
func handleJoinForm(s *site, jitsi *target.Jitsi, preview bool, dash *dashboard) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.Query().Get("room")
		t, err := jitsi.Parse(raw, r.URL.Query())
		if err == nil && !t.HasRoom() {
			// room.Parse explains an empty name the same way as a bad one.
			_, perr := room.Parse(raw)
			err = target.RoomError(perr)
		}
		if err != nil {
			tr := s.translator(r)
			msg := tr.T("error.bad_request")
			if te, ok := err.(*target.Error); ok {
				msg = tr.T(te.Key, te.Args...)
			}
			s.log.InfoContext(r.Context(), "room refused", "err", err)
			user, data := dash.page(s, w, r, welcomePage{Room: truncate(raw, 200), Error: msg, Preview: preview})
			// The user typed into the form: it stays, whatever the rules.
			data.ShowForm = true
			s.render(w, r, http.StatusBadRequest, "welcome", "welcome.heading", user, data)
			return
		}
		http.Redirect(w, r, s.joinPath(t), http.StatusSeeOther)
	})
}
