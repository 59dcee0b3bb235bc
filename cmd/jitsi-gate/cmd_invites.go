package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/config"
	"github.com/jitsi-gate/jitsi-gate/internal/invites"
	"github.com/jitsi-gate/jitsi-gate/internal/metrics"
	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/store"
)

// The invitation subcommands of `jitsi-gate rooms`, registered here so
// that they live with their code.
func init() {
	roomsCommands["invite"] = command{"create a guest invitation link for a room (docs/invites.md)", runRoomsInvite}
	roomsCommands["invites"] = command{"list a room's guest invitations", runRoomsInvites}
	roomsCommands["revoke"] = command{"withdraw a guest invitation", runRoomsRevoke}
}

// newInviteService is the guest invitations service of a config
// (invites.*), over the room registry.
func newInviteService(cfg *config.Config, st *store.Store, rs *rooms.Service, logger *slog.Logger, m *metrics.Metrics) (*invites.Service, error) {
	var observe func(string)
	if m != nil {
		observe = m.Invite
	}
	svc, err := invites.New(invites.Options{Store: st, Rooms: rs, DefaultExpiry: cfg.Invites.DefaultExpiry,
		MaxExpiry: cfg.Invites.MaxExpiry, PublicURL: cfg.Server.PublicURL, Log: logger, Observe: observe})
	if err != nil {
		ps := &problems{cfg: cfg}
		ps.add("invites", err)
		return nil, ps.err()
	}
	return svc, nil
}

// openInvites is roomFlags.open plus the invitations service. The caller
// closes re.store.
func openInvites(ctx context.Context, e env, fs *flag.FlagSet, rf roomFlags, cmd string) (*roomsEnv, *rooms.Room, *invites.Service, error) {
	re, r, err := rf.open(ctx, e, fs, cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	svc, err := newInviteService(re.cfg, re.store, re.svc, newLogger(io.Discard, re.cfg.Log), nil)
	if err != nil {
		re.store.Close()
		printProblems(e.stderr, *rf.config, err)
		return nil, nil, nil, exitError{code: 1}
	}
	return re, r, svc, nil
}

// inviteError turns a service error into the command's exit.
func inviteError(cmd string, err error) error {
	var ve *invites.ValidationError
	switch {
	case errors.As(err, &ve):
		return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate rooms %s: -%s: %s", cmd, strings.ReplaceAll(ve.Field, "_", "-"), ve.Message)}
	case errors.Is(err, invites.ErrNotFound):
		return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate rooms %s: no such invite in this room (list them with: jitsi-gate rooms invites -name ROOM)", cmd)}
	}
	return exitError{code: 1, msg: fmt.Sprintf("jitsi-gate rooms %s: %v", cmd, err)}
}

func runRoomsInvite(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "rooms invite", `-config FILE -name "Elternabend 7b" [-expires 72h] [-max-uses N] [-guest-name "…"] [-lobby=false]`)
	rf := addRoomFlags(fs)
	expires := fs.Duration("expires", 0, "how long the link works, from 1s to invites.max_expiry (default: invites.default_expiry)")
	maxUses := fs.Int("max-uses", 0, "how many guests may use the link (0: any number until it expires)")
	guestName := fs.String("guest-name", "", "the name every guest of this link gets (default: each guest types one)")
	lobby := fs.Bool("lobby", true, "guests wait in the lobby until an organizer admits them")
	asJSON := fs.Bool("json", false, "print the invite as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := flagsSet(fs)
	if set["expires"] && *expires <= 0 {
		return exitError{code: 2, msg: fmt.Sprintf("jitsi-gate rooms invite: -expires %s: must be at least 1s", *expires)}
	}
	re, r, svc, err := openInvites(ctx, e, fs, rf, "invite")
	if err != nil {
		return err
	}
	defer re.store.Close()
	inv, err := svc.Create(ctx, r.ID, invites.Spec{Expires: *expires, MaxUses: *maxUses, GuestName: *guestName, Lobby: lobby}, "cli")
	if err != nil {
		return inviteError("invite", err)
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(inv)
	}
	fmt.Fprintln(e.stdout, inv.Link)
	fmt.Fprintf(e.stderr, "Invite %s for %s (%s): works until %s, %s, %s, %s.\nThe link is shown only now; withdraw it with: jitsi-gate rooms revoke -name %q -invite %s\n",
		inv.ID, r.Title, roomLabel(r), inv.ExpiresAt.Local().Format("2006-01-02 15:04 MST"), usesText(inv),
		nameText(inv), lobbyText(inv), *rf.name, inv.ID)
	return nil
}

func usesText(inv invites.Invite) string {
	if inv.MaxUses == 0 {
		return fmt.Sprintf("used %d times (no limit)", inv.Uses)
	}
	return fmt.Sprintf("used %d of %d times", inv.Uses, inv.MaxUses)
}

func nameText(inv invites.Invite) string {
	if inv.GuestName == "" {
		return "guests type their name"
	}
	return fmt.Sprintf("guests are called %q", inv.GuestName)
}

func lobbyText(inv invites.Invite) string {
	if inv.Lobby {
		return "guests wait in the lobby"
	}
	return "no lobby"
}

func runRoomsInvites(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "rooms invites", `-config FILE -name "Elternabend 7b" [-tenant T] [-json]`)
	rf := addRoomFlags(fs)
	asJSON := fs.Bool("json", false, "print the invites as a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	re, r, svc, err := openInvites(ctx, e, fs, rf, "invites")
	if err != nil {
		return err
	}
	defer re.store.Close()
	list, err := svc.List(ctx, r.ID)
	if err != nil {
		return inviteError("invites", err)
	}
	if *asJSON {
		if list == nil {
			list = []invites.Invite{}
		}
		return json.NewEncoder(e.stdout).Encode(list)
	}
	if len(list) == 0 {
		fmt.Fprintf(e.stdout, "No invites for %s (%s). Create one with: jitsi-gate rooms invite -name %q\n", r.Title, roomLabel(r), *rf.name)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tEXPIRES\tUSES\tNAME\tLOBBY\tCREATED BY")
	for _, inv := range list {
		uses := fmt.Sprint(inv.Uses)
		if inv.MaxUses > 0 {
			uses = fmt.Sprintf("%d/%d", inv.Uses, inv.MaxUses)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inv.ID, inv.State, inv.ExpiresAt.Local().Format(time.DateTime),
			uses, dash(inv.GuestName), yesNo(inv.Lobby), inv.CreatedBy)
	}
	return tw.Flush()
}

func runRoomsRevoke(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "rooms revoke", `-config FILE -name "Elternabend 7b" -invite ID [-tenant T]`)
	rf := addRoomFlags(fs)
	id := fs.String("invite", "", "the invite's id, as rooms invites lists it (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*rf.name) == "" || strings.TrimSpace(*id) == "" {
		fs.Usage()
		return exitError{code: 2, msg: "jitsi-gate rooms revoke: -name and -invite are required"}
	}
	re, r, svc, err := openInvites(ctx, e, fs, rf, "revoke")
	if err != nil {
		return err
	}
	defer re.store.Close()
	inv, err := svc.Revoke(ctx, r.ID, strings.TrimSpace(*id), "cli")
	if err != nil {
		return inviteError("revoke", err)
	}
	fmt.Fprintf(e.stdout, "Withdrew invite %s of %s (%s): its link works nowhere from now on.\n", inv.ID, r.Title, roomLabel(r))
	return nil
}
