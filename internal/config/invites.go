package config

import (
	"fmt"
	"strings"
	"time"
)

// Invites configures guest invitations (docs/invites.md): links that let
// people without an account into one room.
type Invites struct {
	// DefaultExpiry is how long an invite lasts when its creator names no
	// expiry; MaxExpiry is the longest one may last.
	DefaultExpiry time.Duration `yaml:"default_expiry"`
	MaxExpiry     time.Duration `yaml:"max_expiry"`
	// RateLimit bounds how often one client network may open and redeem
	// invite links (guessing codes is hopeless at 128 bits; this keeps a
	// scanner from costing database reads).
	RateLimit InviteRateLimit `yaml:"rate_limit"`
}

// InviteRateLimit bounds the requests to /invite/ per client network
// (IPv4 address, IPv6 /64).
type InviteRateLimit struct {
	PerIP  int           `yaml:"per_ip"`
	Window time.Duration `yaml:"window"`
}

// Invite defaults; config.example.yaml documents the same ones.
const (
	DefaultInviteExpiry = 72 * time.Hour
	DefaultInviteMax    = 720 * time.Hour
	// DefaultInviteRateIP lets a family (or a staff room) behind one
	// address through: each guest needs two requests (page, name).
	DefaultInviteRateIP     = 30
	DefaultInviteRateWindow = time.Minute
	// maxInviteExpiry bounds invites.max_expiry: a link that works for
	// more than a year is a standing door, not an invitation.
	maxInviteExpiry = 366 * 24 * time.Hour
)

// applyInviteDefaults fills in the invites section (ApplyDefaults).
func (c *Config) applyInviteDefaults() {
	i := &c.Invites
	if i.DefaultExpiry == 0 {
		i.DefaultExpiry = DefaultInviteExpiry
	}
	if i.MaxExpiry == 0 {
		i.MaxExpiry = max(DefaultInviteMax, i.DefaultExpiry)
	}
	if i.RateLimit.PerIP == 0 {
		i.RateLimit.PerIP = DefaultInviteRateIP
	}
	if i.RateLimit.Window == 0 {
		i.RateLimit.Window = DefaultInviteRateWindow
	}
}

func (c *Config) validateInvites(v *collector) {
	i := c.Invites
	if i.MaxExpiry < time.Second || i.MaxExpiry > maxInviteExpiry {
		v.add("invites.max_expiry", fmt.Sprintf("%s is not between 1s and %s", i.MaxExpiry, maxInviteExpiry),
			"e.g. 720h: no invite lasts longer")
	}
	if i.DefaultExpiry < time.Second || i.DefaultExpiry > i.MaxExpiry {
		v.add("invites.default_expiry", fmt.Sprintf("%s is not between 1s and invites.max_expiry (%s)", i.DefaultExpiry, i.MaxExpiry),
			"e.g. 72h: how long an invite lasts when its creator names no expiry")
	}
	if i.RateLimit.PerIP <= 0 {
		v.add("invites.rate_limit.per_ip", "must be greater than 0", fmt.Sprintf("default %d", DefaultInviteRateIP))
	}
	if i.RateLimit.Window <= 0 {
		v.add("invites.rate_limit.window", "must be greater than 0", "default 1m")
	}
	for k, b := range c.Backends {
		// Guests' token ids are "guest:<invite>:<random>"; an account
		// must never have one of those.
		if strings.EqualFold(b.ID, GuestBackendID) {
			v.add(fmt.Sprintf("backends[%d].id", k), fmt.Sprintf("%q is reserved for invited guests", b.ID), "choose another id")
		}
	}
}

// GuestBackendID is the backend part of an invited guest's token id; no
// backend may use it.
const GuestBackendID = "guest"
