package web

import (
	"net/http"

	"github.com/jitsi-gate/jitsi-gate/internal/room"
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
func (s *server) handleWelcome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "welcome", "welcome.heading", s.currentUser(r), welcomePage{
			Action:  s.path("/join"),
			Login:   s.path("/login"),
			Preview: s.opts.Jitsi.Preview,
		})
	})
}

// handleJoinForm receives the welcome page's room form (GET /join?room=…)
// and sends the browser to the canonical /join/{room}. A bad name shows the
// welcome page again with the problem explained.
func (s *server) handleJoinForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.Query().Get("room")
		t, err := s.parseTarget(raw, r.URL.Query())
		if err == nil && !t.hasRoom() {
			// room.Parse explains an empty name the same way as a bad one.
			_, perr := room.Parse(raw)
			err = roomError(perr)
		}
		if err != nil {
			tr := s.translator(w, r)
			msg := tr.T("error.bad_request")
			if te, ok := err.(*targetError); ok {
				msg = tr.T(te.key, te.args...)
			}
			s.log.InfoContext(r.Context(), "room refused", "err", err)
			s.render(w, r, http.StatusBadRequest, "welcome", "welcome.heading", s.currentUser(r), welcomePage{
				Room:    truncate(raw, 200),
				Error:   msg,
				Action:  s.path("/join"),
				Login:   s.path("/login"),
				Preview: s.opts.Jitsi.Preview,
			})
			return
		}
		http.Redirect(w, r, s.joinPath(t), http.StatusSeeOther)
	})
}

// truncate shortens s to at most n bytes on a rune boundary, for echoing
// user input back into a page.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !runeStart(s[n]) {
		n--
	}
	return s[:n]
}

func runeStart(b byte) bool { return b&0xC0 != 0x80 }
