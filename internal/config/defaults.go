package config

import (
	"strings"
	"time"
)

// Default values; config.example.yaml documents the same ones.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultShutdownDelay   = 5 * time.Second
	DefaultShutdownTimeout = 20 * time.Second
	DefaultAlgorithm       = "HS256"
	DefaultTokenLifetime   = time.Hour
	DefaultSessionLifetime = 8 * time.Hour
	DefaultRefreshGroups   = 15 * time.Minute
	DefaultCookieName      = "jitsi_gate"
	DefaultLDAPTimeout     = 10 * time.Second
	DefaultRateLimitUser   = 5
	DefaultRateLimitIP     = 30
	DefaultRateLimitWindow = time.Minute
	DefaultTitle           = "jitsi-gate"
	DefaultLanguage        = "en"
	DefaultStoreDriver     = "sqlite"
	// DefaultStorePath is the SQLite file when store.path is not set:
	// relative, so next to the config file (for the built-in demo
	// configuration: in the working directory).
	DefaultStorePath            = "jitsi-gate.db"
	DefaultRoomsTimezone        = "Europe/Berlin"
	DefaultOpenEarly            = 10 * time.Minute
	DefaultGrace                = 5 * time.Minute
	DefaultUnregisteredRooms    = "deny"
	DefaultReservationDuration  = 24 * time.Hour
	DefaultRefreshTokenLifetime = 8 * time.Hour
)

// DefaultRateLimitUserGlobalFactor × per_user is the default
// rate_limit.per_user_global.
const DefaultRateLimitUserGlobalFactor = 10

// ApplyDefaults fills in every value that is not set and normalises URLs
// (no trailing "/"). Parse calls it; call it yourself only when you build a
// Config in code before Validate.
func (c *Config) ApplyDefaults() {
	setStr := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}

	setStr(&c.Server.Listen, DefaultListen)
	if c.Server.ShutdownDelay == nil {
		d := DefaultShutdownDelay
		c.Server.ShutdownDelay = &d
	}
	setDur(&c.Server.ShutdownTimeout, DefaultShutdownTimeout)
	c.Server.PublicURL = strings.TrimRight(c.Server.PublicURL, "/")

	j := &c.Jitsi
	j.URL = strings.TrimRight(j.URL, "/")
	setStr(&j.Audience, j.AppID)
	setStr(&j.Signing.Algorithm, DefaultAlgorithm)
	setDur(&j.TokenLifetime, DefaultTokenLifetime)

	setDur(&c.Session.Lifetime, DefaultSessionLifetime)
	setDur(&c.Session.RefreshGroups, DefaultRefreshGroups)
	setStr(&c.Session.CookieName, DefaultCookieName)

	for i := range c.Backends {
		b := &c.Backends[i]
		setStr(&b.Label, b.ID)
		switch b.Type {
		case "ldap":
			l := &b.LDAP
			setDur(&l.Timeout, DefaultLDAPTimeout)
			setStr(&l.UserSearch.IDAttribute, "uid")
			setStr(&l.UserSearch.NameAttribute, "displayName")
			setStr(&l.UserSearch.EmailAttribute, "mail")
			setStr(&l.GroupSearch.NameAttribute, "cn")
		case "oidc":
			o := &b.OIDC
			if len(o.Scopes) == 0 {
				o.Scopes = []string{"openid", "profile", "email"}
			}
			if len(o.GroupsClaim) == 0 {
				o.GroupsClaim = StringList{"groups"}
			}
			setStr(&o.NameClaim, "name")
			setStr(&o.EmailClaim, "email")
			setStr(&o.IDClaim, "sub")
		}
	}

	for i := range c.Rules {
		if len(c.Rules[i].Rooms) == 0 {
			c.Rules[i].Rooms = []string{"*"}
		}
	}

	setInt(&c.RateLimit.PerUser, DefaultRateLimitUser)
	setInt(&c.RateLimit.PerUserGlobal, DefaultRateLimitUserGlobalFactor*c.RateLimit.PerUser)
	setInt(&c.RateLimit.PerIP, DefaultRateLimitIP)
	setDur(&c.RateLimit.Window, DefaultRateLimitWindow)

	setStr(&c.Store.Driver, DefaultStoreDriver)
	if c.Store.Driver == "sqlite" {
		setStr(&c.Store.Path, DefaultStorePath)
	}
	setStr(&c.Rooms.Timezone, DefaultRoomsTimezone)
	if c.Rooms.OpenEarly == nil {
		d := DefaultOpenEarly
		c.Rooms.OpenEarly = &d
	}
	if c.Rooms.Grace == nil {
		d := DefaultGrace
		c.Rooms.Grace = &d
	}
	setStr(&c.Reservations.UnregisteredRooms, DefaultUnregisteredRooms)
	setDur(&c.Reservations.DefaultDuration, DefaultReservationDuration)
	setDur(&c.SSO.RefreshTokenLifetime, DefaultRefreshTokenLifetime)
	c.applyInviteDefaults()

	setStr(&c.Log.Level, "info")
	setStr(&c.Log.Format, "text")

	setStr(&c.UI.Title, DefaultTitle)
	setStr(&c.UI.DefaultLanguage, DefaultLanguage)
}

// PathTenant returns the tenant in the path of jitsi.url
// (https://meet.example.com/school-a → "school-a"), or "".
func (j Jitsi) PathTenant() string {
	rest := j.URL
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	_, p, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	return strings.Trim(p, "/")
}
