package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/invites"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
)

// The invites of a room in the JSON API (docs/api.yaml):
// /api/v1/rooms/{id}/invites (GET lists, POST creates) and
// /api/v1/rooms/{id}/invites/{invite} (DELETE revokes). The rights are
// those of changing the room: admins and tokens, and the room's organizers
// with manage_rooms. A room the caller cannot see is 404, one they see but
// may not change 403. The code is in the answer to POST only (link); the
// gateway keeps its hash.

// inviteInput is the body of POST …/invites.
type inviteInput struct {
	// Expires is a Go duration ("72h", "90m"); "" is invites.default_expiry.
	Expires   string `json:"expires"`
	MaxUses   int    `json:"max_uses"`
	GuestName string `json:"guest_name"`
	// Lobby: nil (left out) is true.
	Lobby *bool `json:"lobby"`
}

type inviteList struct {
	Invites []invites.Invite `json:"invites"`
}

// inviteRoom loads the room of the path for an invite operation: the
// invites service must exist, the caller must see the room and may change
// it.
func (a *roomAPI) inviteRoom(w http.ResponseWriter, r *http.Request, c caller) (*rooms.Room, bool) {
	if a.invites == nil {
		writeAPIError(w, http.StatusNotFound, "", "this gateway has no invitations")
		return nil, false
	}
	rm, ok := a.visibleRoom(w, r, c)
	if !ok {
		return nil, false
	}
	if !c.canEdit(rm) {
		writeAPIError(w, http.StatusForbidden, "", "only the room's organizers (with manage_rooms) and admins may invite guests")
		return nil, false
	}
	return rm, true
}

func (a *roomAPI) listInvites() http.Handler {
	return a.handler(func(w http.ResponseWriter, r *http.Request, c caller) {
		rm, ok := a.inviteRoom(w, r, c)
		if !ok {
			return
		}
		list, err := a.invites.List(r.Context(), rm.ID)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if list == nil {
			list = []invites.Invite{}
		}
		writeJSON(w, http.StatusOK, inviteList{Invites: list})
	})
}

func (a *roomAPI) createInvite() http.Handler {
	return a.handler(func(w http.ResponseWriter, r *http.Request, c caller) {
		rm, ok := a.inviteRoom(w, r, c)
		if !ok {
			return
		}
		in, ok := readInvite(w, r)
		if !ok {
			return
		}
		spec := invites.Spec{MaxUses: in.MaxUses, GuestName: in.GuestName, Lobby: in.Lobby}
		if in.Expires != "" {
			d, err := time.ParseDuration(in.Expires)
			if err != nil {
				writeAPIError(w, http.StatusBadRequest, "expires", "%q is not a duration (e.g. 72h, 90m)", in.Expires)
				return
			}
			if d == 0 {
				writeAPIError(w, http.StatusBadRequest, "expires", "must be at least 1s")
				return
			}
			spec.Expires = d
		}
		inv, err := a.invites.Create(r.Context(), rm.ID, spec, c.who)
		var ve *invites.ValidationError
		switch {
		case errors.As(err, &ve):
			writeAPIError(w, http.StatusBadRequest, ve.Field, "%s", ve.Message)
			return
		case err != nil:
			a.fail(w, r, err)
			return
		}
		a.log.InfoContext(r.Context(), "api: invite created", "by", c.who, "via", c.via, "rights", c.rightsSource,
			"room_id", rm.ID, "room", rm.Name, "invite", inv.ID)
		writeJSON(w, http.StatusCreated, inv)
	})
}

func (a *roomAPI) revokeInvite() http.Handler {
	return a.handler(func(w http.ResponseWriter, r *http.Request, c caller) {
		rm, ok := a.inviteRoom(w, r, c)
		if !ok {
			return
		}
		inv, err := a.invites.Revoke(r.Context(), rm.ID, r.PathValue("invite"), c.who)
		switch {
		case errors.Is(err, invites.ErrNotFound):
			writeAPIError(w, http.StatusNotFound, "", "no such invite in this room")
			return
		case err != nil:
			a.fail(w, r, err)
			return
		}
		a.log.InfoContext(r.Context(), "api: invite revoked", "by", c.who, "via", c.via, "rights", c.rightsSource,
			"room_id", rm.ID, "room", rm.Name, "invite", inv.ID)
		w.WriteHeader(http.StatusNoContent)
	})
}

// readInvite decodes an invite body (see readJSON).
func readInvite(w http.ResponseWriter, r *http.Request) (inviteInput, bool) {
	var in inviteInput
	ok := readJSON(w, r, maxInviteForm, "invite", &in)
	return in, ok
}

// inviteRouteAllow is the Allow header of an invite path the mux did not
// match with this method ("" when rest is no invite path). rest is the
// path after /api/v1/rooms.
func inviteRouteAllow(rest string) string {
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] != "" && parts[1] == "invites":
		return "GET, HEAD, POST"
	case len(parts) == 3 && parts[0] != "" && parts[1] == "invites" && parts[2] != "":
		return "DELETE"
	}
	return ""
}
