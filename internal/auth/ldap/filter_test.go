package ldap

import (
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

func TestBuildFilter(t *testing.T) {
	tests := []struct {
		name        string
		tmpl        string
		placeholder string
		value       string
		want        string
	}{
		{"plain", "(uid={username})", UsernamePlaceholder, "teacher1", `(uid=teacher1)`},
		{"star", "(uid={username})", UsernamePlaceholder, "*", `(uid=\2a)`},
		{"prefix wildcard", "(uid={username})", UsernamePlaceholder, "teacher*", `(uid=teacher\2a)`},
		{"close and reopen", "(uid={username})", UsernamePlaceholder, "*)(uid=*", `(uid=\2a\29\28uid=\2a)`},
		{"or injection", "(&(objectClass=inetOrgPerson)(uid={username}))", UsernamePlaceholder,
			"teacher1)(|(uid=*", `(&(objectClass=inetOrgPerson)(uid=teacher1\29\28|\28uid=\2a))`},
		{"backslash", "(uid={username})", UsernamePlaceholder, `\`, `(uid=\5c)`},
		// Input that looks escaped already is escaped again: we never
		// assume the caller escaped anything.
		{"looks escaped", "(uid={username})", UsernamePlaceholder, `\2a`, `(uid=\5c2a)`},
		{"open paren", "(uid={username})", UsernamePlaceholder, "(", `(uid=\28)`},
		{"NUL", "(uid={username})", UsernamePlaceholder, "a\x00b", `(uid=a\00b)`},
		{"unicode", "(uid={username})", UsernamePlaceholder, "jürgen", `(uid=j\c3\bcrgen)`},
		{"every occurrence", "(|(sAMAccountName={username})(userPrincipalName={username}))", UsernamePlaceholder,
			"a*", `(|(sAMAccountName=a\2a)(userPrincipalName=a\2a))`},
		{"dn with specials", "(member={dn})", DNPlaceholder,
			`cn=math (grade*5)\5C\2Ca,ou=groups,dc=school,dc=example`,
			`(member=cn=math \28grade\2a5\29\5c5C\5c2Ca,ou=groups,dc=school,dc=example)`},
		{"AD in-chain rule", "(member:1.2.840.113556.1.4.1941:={dn})", DNPlaceholder,
			"CN=A (x),DC=ad", `(member:1.2.840.113556.1.4.1941:=CN=A \28x\29,DC=ad)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := buildFilter(tt.tmpl, tt.placeholder, tt.value)
			if got != tt.want {
				t.Fatalf("buildFilter(%q, %q) = %q, want %q", tt.tmpl, tt.value, got, tt.want)
			}
			if _, err := goldap.CompileFilter(got); err != nil {
				t.Fatalf("built filter %q does not compile: %v", got, err)
			}
		})
	}
}

// TestBuildFilterRoundTrip checks "escaped exactly once" on the wire: the
// assertion value the server receives equals the raw input byte for byte.
// Double escaping (Dex v2.45.1) or no escaping would both fail here.
func TestBuildFilterRoundTrip(t *testing.T) {
	inputs := []string{"teacher1", "*", "*)(uid=*", `\`, "(", ")", "a\x00b", "jürgen", `\2a`,
		`o*(weird)\,user`, "teacher1)(|(uid=*", "日本語", " lead"}
	for _, in := range inputs {
		f := buildFilter("(uid={username})", UsernamePlaceholder, in)
		p, err := goldap.CompileFilter(f)
		if err != nil {
			t.Fatalf("%q: CompileFilter(%q): %v", in, f, err)
		}
		if p.Tag != goldap.FilterEqualityMatch || len(p.Children) != 2 {
			t.Fatalf("%q: filter %q is not a single equality match (tag %d, %d children)", in, f, p.Tag, len(p.Children))
		}
		if got := assertionValue(p.Children[1]); got != in {
			t.Errorf("%q: server would see %q", in, got)
		}
	}
}

func assertionValue(p *ber.Packet) string {
	if p.Data != nil && p.Data.Len() > 0 {
		return p.Data.String()
	}
	s, _ := p.Value.(string)
	return s
}

func TestRDNValue(t *testing.T) {
	tests := []struct{ dn, want string }{
		{"cn=teachers,ou=groups,dc=school,dc=example", "teachers"},
		{`cn=math (grade*5)\5C\2Ca,ou=groups,dc=school,dc=example`, `math (grade*5)\,a`},
		{`CN=Staff\, all,OU=Groups,DC=ad`, "Staff, all"},
		{"not a dn", "not a dn"},
	}
	for _, tt := range tests {
		if got := rdnValue(tt.dn); got != tt.want {
			t.Errorf("rdnValue(%q) = %q, want %q", tt.dn, got, tt.want)
		}
	}
}

func TestDNKey(t *testing.T) {
	same := [][2]string{
		{"cn=Teachers,ou=groups,dc=school,dc=example", "CN=teachers, OU=Groups,DC=school,DC=example"},
		{`cn=math (grade*5)\5C\2Ca,ou=groups`, `cn=math (grade*5)\\\,a,ou=groups`},
	}
	for _, p := range same {
		if dnKey(p[0]) != dnKey(p[1]) {
			t.Errorf("dnKey(%q) = %q != dnKey(%q) = %q", p[0], dnKey(p[0]), p[1], dnKey(p[1]))
		}
	}
	if dnKey("cn=a,ou=groups") == dnKey("cn=b,ou=groups") {
		t.Error("different DNs share a key")
	}
}

func TestGroupNames(t *testing.T) {
	got := groupNames([]GroupFound{
		{Name: "Teachers"}, {Name: "staff"}, {Name: "teachers"}, {Name: ""}, {Name: "STAFF"}, {Name: "admins"},
	})
	want := []string{"Teachers", "staff", "admins"}
	if len(got) != len(want) {
		t.Fatalf("groupNames = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("groupNames = %q, want %q", got, want)
		}
	}
}

func TestAttributeText(t *testing.T) {
	tests := []struct {
		name string
		v    []byte
		want string
	}{
		{"uid", []byte("teacher1"), "teacher1"},
		{"objectGUID", []byte("abc"), "616263"}, // valid UTF-8 by chance: still hex
		{"ObjectSid", []byte{1, 5, 0, 0}, "01050000"},
		{"photo", []byte{0xff, 0xfe}, "fffe"},
	}
	for _, tt := range tests {
		if got := attributeText(tt.name, tt.v); got != tt.want {
			t.Errorf("attributeText(%q, %v) = %q, want %q", tt.name, tt.v, got, tt.want)
		}
	}
}
