package ldap

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/jitsi-gate/jitsi-gate/internal/testenv"
)

// The two benchmarks below do the same LDAP work against the same slapd, so
// their ratio is the gateway's overhead (target < 20 %):
//
//	go test -run '^$' -bench 'Login|Raw' -count 6 ./internal/auth/ldap/
//
// Both: one TCP connection over plain ldap://, service bind, user search
// (size limit 2), user bind, service rebind, group search on the user's DN
// and then on every group found (teacher1: teachers → staff → none), i.e.
// 7 LDAP round trips.

func BenchmarkLoginGateway(b *testing.B) {
	env := testenv.LDAP(b)
	a, err := New(schoolConfig(env), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		id, err := a.Login(ctx, "teacher1", "teacher1pass")
		if err != nil {
			b.Fatal(err)
		}
		if len(id.Groups) != 2 {
			b.Fatalf("groups = %q", id.Groups)
		}
	}
}

func BenchmarkRawLDAP(b *testing.B) {
	env := testenv.LDAP(b)
	cfg := schoolConfig(env)
	dialer := &net.Dialer{Timeout: cfg.Timeout}
	b.ReportAllocs()
	for b.Loop() {
		groups, err := rawLogin(cfg, dialer, "teacher1", "teacher1pass")
		if err != nil {
			b.Fatal(err)
		}
		if len(groups) != 2 {
			b.Fatalf("groups = %q", groups)
		}
	}
}

// rawLogin is the hand-written baseline: plain go-ldap calls, nothing else.
func rawLogin(cfg Config, dialer *net.Dialer, username, password string) ([]string, error) {
	c, err := goldap.DialURL(cfg.URL, goldap.DialWithDialer(dialer))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetTimeout(cfg.Timeout)
	if err := c.Bind(cfg.BindDN, cfg.BindPassword); err != nil {
		return nil, err
	}
	us := cfg.UserSearch
	res, err := c.Search(goldap.NewSearchRequest(us.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, 0, false, "(&(objectClass=inetOrgPerson)(uid="+goldap.EscapeFilter(username)+"))",
		[]string{us.IDAttribute, us.NameAttribute, "cn", us.EmailAttribute}, nil))
	if err != nil {
		return nil, err
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("%d entries", len(res.Entries))
	}
	dn := res.Entries[0].DN
	if err := c.Bind(dn, password); err != nil {
		return nil, err
	}
	if err := c.Bind(cfg.BindDN, cfg.BindPassword); err != nil {
		return nil, err
	}
	var names []string
	seen := map[string]bool{}
	for frontier := []string{dn}; len(frontier) > 0; {
		var next []string
		for _, member := range frontier {
			res, err := c.Search(goldap.NewSearchRequest(cfg.GroupSearch.BaseDN, goldap.ScopeWholeSubtree,
				goldap.NeverDerefAliases, 0, 0, false,
				"(&(objectClass=groupOfNames)(member="+goldap.EscapeFilter(member)+"))", []string{"cn"}, nil))
			if err != nil {
				return nil, err
			}
			for _, e := range res.Entries {
				if !seen[e.DN] {
					seen[e.DN] = true
					names = append(names, e.GetAttributeValue("cn"))
					next = append(next, e.DN)
				}
			}
		}
		frontier = next
	}
	return names, nil
}

// TestRawLoginMatchesGateway keeps the baseline honest: it must find the
// same groups as the gateway, or the benchmark compares different work.
func TestRawLoginMatchesGateway(t *testing.T) {
	env := testenv.LDAP(t)
	cfg := schoolConfig(env)
	a := newAuth(t, cfg)
	for _, user := range []string{"teacher1", "student2", "admin"} {
		raw, err := rawLogin(cfg, &net.Dialer{Timeout: time.Second}, user, user+"pass")
		if err != nil {
			t.Fatal(err)
		}
		id, err := a.Login(context.Background(), user, user+"pass")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(raw, id.Groups) {
			t.Errorf("%s: raw groups %q, gateway groups %q", user, raw, id.Groups)
		}
	}
}
