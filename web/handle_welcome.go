package web

import (
	"net/http"

	"github.com/jitsi-gate/jitsi-gate/internal/room"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
)

// welcomePage is the data of welcome.html.
type welcomePage struct {
	Room    string // pre-filled room (Display form)
	Error   string // translated problem with the room typed last time
	Action  string // the room form's action (GET /join)
	Login   string // link to the login page
	Preview bool
}

// handleWelcome is the front page: a room form, and who is logged in.
func handleWelcome(s *site, preview bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "welcome", "welcome.heading", s.currentUser(r), welcomePage{
			Action:  s.path("/join"),
			Login:   s.path("/login"),
			Preview: preview,
		})
	})
}

// handleJoinForm receives the welcome page's room form (GET /join?room=…)
// and sends the browser to the canonical /join/{room}. A bad name shows the
// welcome page again with the problem explained.
func handleJoinForm(s *site, jitsi *target.Jitsi, preview bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.Query().Get("room")
		t, err := jitsi.Parse(raw, r.URL.Query())
		if err == nil && !t.HasRoom() {
			// room.Parse explains an empty name the same way as a bad one.
			_, perr := room.Parse(raw)
			err = target.RoomError(perr)
		}
		if err != nil {
			tr := s.translator(w, r)
			msg := tr.T("error.bad_request")
			if te, ok := err.(*target.Error); ok {
				msg = tr.T(te.Key, te.Args...)
			}
			s.log.InfoContext(r.Context(), "room refused", "err", err)
			s.render(w, r, http.StatusBadRequest, "welcome", "welcome.heading", s.currentUser(r), welcomePage{
				Room:    truncate(raw, 200),
				Error:   msg,
				Action:  s.path("/join"),
				Login:   s.path("/login"),
				Preview: preview,
			})
			return
		}
		http.Redirect(w, r, s.joinPath(t), http.StatusSeeOther)
	})
}
