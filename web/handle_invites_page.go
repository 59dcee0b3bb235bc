package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/i18n"
	"github.com/jitsi-gate/jitsi-gate/internal/invites"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/session"
	"github.com/jitsi-gate/jitsi-gate/internal/target"
)

// The organizers' invite page, <public_url>/rooms/{id}/invites: a plain
// server-rendered form that creates links (shown once, right after), lists
// them and withdraws them. The rights are the API's: admins, and
// organizers of the room with manage_rooms. Its POSTs are form posts the
// crossOrigin middleware refuses from other sites.

// invitesPage is the data of invites.html.
type invitesPage struct {
	Title, Action string
	// Created is the new link, shown once.
	Created  string
	Error    string
	Expiries []expiryChoice
	Invites  []inviteRow
	MaxName  int
}

type expiryChoice struct {
	Value, Label string
	Selected     bool
}

type inviteRow struct {
	ID, State, Expires, Uses, Name, Lobby, Created string
	Revocable                                      bool
}

// organizerRoom finds the room of the path and checks that the signed-in
// user may invite to it; it answers itself otherwise.
func (gp *guestPages) organizerRoom(w http.ResponseWriter, r *http.Request) (*session.User, caller, *rooms.Room, bool) {
	s := gp.site
	if gp.invites == nil || gp.rooms == nil {
		s.fail(w, r, http.StatusNotFound, "", "error.not_found")
		return nil, caller{}, nil, false
	}
	u, ok := s.requireSignIn(w, r, target.Target{}, nil)
	if !ok {
		return nil, caller{}, nil, false
	}
	c := sessionCaller(gp.policy, u.Identity, "page")
	rm, ok := s.roomFor(w, r, gp.rooms, c, r.PathValue("id"))
	if !ok {
		return nil, caller{}, nil, false
	}
	if !c.canEdit(rm) {
		s.fail(w, r, http.StatusForbidden, "", "invites.not_allowed")
		return nil, caller{}, nil, false
	}
	return &u, c, rm, true
}

// organizerPage lists the room's invites with the form for a new one.
func (gp *guestPages) organizerPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _, rm, ok := gp.organizerRoom(w, r)
		if !ok {
			return
		}
		gp.renderOrganizer(w, r, u, rm, http.StatusOK, "", "")
	})
}

// organizerAction creates (action=create) or withdraws (action=revoke)
// an invite.
func (gp *guestPages) organizerAction() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, c, rm, ok := gp.organizerRoom(w, r)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxInviteForm)
		if err := r.ParseForm(); err != nil {
			gp.renderOrganizer(w, r, u, rm, http.StatusBadRequest, "", gp.site.translator(r).T("error.bad_request"))
			return
		}
		tr := gp.site.translator(r)
		ctx := r.Context()
		switch r.PostForm.Get("action") {
		case "revoke":
			_, err := gp.invites.Revoke(ctx, rm.ID, r.PostForm.Get("invite"), c.who)
			switch {
			case errors.Is(err, invites.ErrNotFound):
				gp.renderOrganizer(w, r, u, rm, http.StatusNotFound, "", tr.T("error.not_found"))
				return
			case err != nil:
				gp.site.storeUnavailable(w, r, "", "invites unavailable", err)
				return
			}
			http.Redirect(w, r, gp.site.path("/rooms/"+rm.ID+"/invites"), http.StatusSeeOther)
		case "create":
			spec, problem := gp.specFromForm(tr, r)
			if problem != "" {
				gp.renderOrganizer(w, r, u, rm, http.StatusBadRequest, "", problem)
				return
			}
			inv, err := gp.invites.Create(ctx, rm.ID, spec, c.who)
			var ve *invites.ValidationError
			switch {
			case errors.As(err, &ve):
				gp.renderOrganizer(w, r, u, rm, http.StatusBadRequest, "", formProblem(tr, ve.Field))
				return
			case err != nil:
				gp.site.storeUnavailable(w, r, "", "invites unavailable", err)
				return
			}
			gp.renderOrganizer(w, r, u, rm, http.StatusCreated, inv.Link, "")
		default:
			gp.renderOrganizer(w, r, u, rm, http.StatusBadRequest, "", tr.T("error.bad_request"))
		}
	})
}

func formProblem(tr i18n.Translator, field string) string {
	switch field {
	case "max_uses":
		return tr.T("invites.bad_max_uses", invites.MaxUses)
	case "guest_name":
		return tr.T("invites.bad_guest_name")
	}
	return tr.T("invites.bad_expires")
}

// specFromForm reads the create form; a problem is a translated message.
func (gp *guestPages) specFromForm(tr i18n.Translator, r *http.Request) (invites.Spec, string) {
	f := r.PostForm
	expires, err := time.ParseDuration(f.Get("expires"))
	if err != nil {
		return invites.Spec{}, tr.T("invites.bad_expires")
	}
	uses := 0
	if v := strings.TrimSpace(f.Get("max_uses")); v != "" {
		if uses, err = strconv.Atoi(v); err != nil {
			return invites.Spec{}, formProblem(tr, "max_uses")
		}
	}
	lobby := f.Get("lobby") == "on"
	return invites.Spec{Expires: expires, MaxUses: uses, GuestName: f.Get("guest_name"), Lobby: &lobby}, ""
}

// expiryChoices are the form's durations up to the configured maximum,
// and the default (selected).
func (gp *guestPages) expiryChoices(tr i18n.Translator) []expiryChoice {
	def, most := gp.invites.DefaultExpiry(), gp.invites.MaxExpiry()
	choices := []time.Duration{def}
	for _, d := range []time.Duration{time.Hour, 3 * time.Hour, 24 * time.Hour, 72 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour} {
		if d <= most && d != def {
			choices = append(choices, d)
		}
	}
	slices.Sort(choices)
	out := make([]expiryChoice, len(choices))
	for i, d := range choices {
		out[i] = expiryChoice{Value: d.String(), Label: durationLabel(tr, d), Selected: d == def}
	}
	return out
}

func durationLabel(tr i18n.Translator, d time.Duration) string {
	switch {
	case d == time.Hour:
		return tr.T("invites.hour")
	case d == 24*time.Hour:
		return tr.T("invites.day")
	case d%(24*time.Hour) == 0:
		return tr.T("invites.days", int(d/(24*time.Hour)))
	case d%time.Hour == 0:
		return tr.T("invites.hours", int(d/time.Hour))
	}
	return d.String()
}

func (gp *guestPages) renderOrganizer(w http.ResponseWriter, r *http.Request, u *session.User, rm *rooms.Room, status int, created, problem string) {
	tr := gp.site.translator(r)
	list, err := gp.invites.List(r.Context(), rm.ID)
	if err != nil {
		gp.site.storeUnavailable(w, r, "", "invites unavailable", err)
		return
	}
	now := gp.now()
	p := invitesPage{Title: roomTitle(rm), Action: gp.site.path("/rooms/" + rm.ID + "/invites"), Created: created,
		Error: problem, Expiries: gp.expiryChoices(tr), MaxName: invites.MaxNameLength}
	loc := rm.Schedule.Location
	if loc == nil {
		loc = time.UTC
	}
	for _, inv := range list {
		row := inviteRow{ID: inv.ID, State: tr.T("invites.state." + string(inv.State)),
			Expires: tr.When(inv.ExpiresAt.In(loc), now), Created: tr.When(inv.CreatedAt.In(loc), now),
			Name: inv.GuestName, Lobby: tr.T("invites.no"), Revocable: inv.State == invites.Active}
		if inv.Lobby {
			row.Lobby = tr.T("invites.yes")
		}
		if row.Name == "" {
			row.Name = tr.T("invites.typed")
		}
		if inv.MaxUses > 0 {
			row.Uses = tr.T("invites.uses_of", inv.Uses, inv.MaxUses)
		} else {
			row.Uses = tr.T("invites.uses_any", inv.Uses)
		}
		p.Invites = append(p.Invites, row)
	}
	gp.site.render(w, r, status, "invites", "invites.heading", u, p)
}
