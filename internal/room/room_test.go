package room

import (
	"bufio"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		safe    string
		display string
	}{
		{"Math-101", "math-101", "math-101"},
		{"Mathe-Übung", "mathe-%c3%bcbung", "mathe-übung"},
		{"mathe-%C3%9Cbung", "mathe-%c3%bcbung", "mathe-übung"}, // percent-encoded input decodes once
		{"Straße-Ä", "stra%c3%9fe-%c3%a4", "straße-ä"},
		{"ΟΔΟΣ", "%ce%bf%ce%b4%ce%bf%cf%82", "οδος"}, // final sigma, like JS
		{"ΟΔΟΣ-Α", "%ce%bf%ce%b4%ce%bf%cf%82-%ce%b1", "οδος-α"},
		{"Σ", "%cf%83", "σ"}, // a lone capital sigma is not final
		{"ΟΔΟΣ-101", "%ce%bf%ce%b4%ce%bf%cf%82-101", "οδος-101"},
		{"οδος🎉", "%ce%bf%ce%b4%ce%bf%cf%82%f0%9f%8e%89", "οδος🎉"}, // lower-case sigma is kept as typed
		{"\ue000", "%ee%80%80", "\ue000"},                          // private use is stable
		{"İ", "i%cc%87", "i̇"},
		{"  spaced  out  ", "spacedout", "spacedout"},
		{"a\u00a0b\u3000c\ufeffd", "abcd", "abcd"}, // NBSP, ideographic space, BOM stripped
		{"x?y#z", "xyz", "xyz"},
		{"a%3Fb", "ab", "ab"}, // decoded first, then stripped
		{"~tilde.dot", "~tilde.dot", "~tilde.dot"},
		{"a+b", "ab", "ab"}, // '+' is not a space and is stripped
		{"...", "...", "..."},
		{strings.Repeat("a", 64), strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{strings.Repeat("ü", 64), strings.Repeat("%c3%bc", 64), strings.Repeat("ü", 64)},
		{"LIBS-2", "libs-2", "libs-2"},
		{"emoji-🎉", "emoji-%f0%9f%8e%89", "emoji-🎉"},
		{"family-👨\u200d👩\u200d👧", "family-%f0%9f%91%a8%e2%80%8d%f0%9f%91%a9%e2%80%8d%f0%9f%91%a7", "family-👨\u200d👩\u200d👧"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got.Safe != tt.safe || got.Display != tt.display {
				t.Errorf("Parse(%q) = {%q, %q}, want {%q, %q}", tt.in, got.Safe, got.Display, tt.safe, tt.display)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		code string
	}{
		{"protocol-relative", "//evil.com", CodeInvalidChar},
		{"dotdot", "..", CodeReserved},
		{"dot", ".", CodeReserved},
		{"dotdot spaced", ". .", CodeReserved},
		{"encoded slash", "%2F", CodeInvalidChar},
		{"encoded slashes", "%2f%2fevil", CodeInvalidChar},
		{"encoded backslash", "a%5Cb", CodeInvalidChar},
		{"url", "https://x", CodeInvalidChar},
		{"backslash", `a\b`, CodeInvalidChar},
		{"10 kB", strings.Repeat("a", 10*1024), CodeTooLong},
		{"65 runes", strings.Repeat("a", 65), CodeTooLong},
		{"65 runes after NFKC", strings.Repeat("ﬀ", 33), CodeTooLong}, // 33 runes → 66
		{"crlf", "a\r\nb", CodeControlChar},
		{"tab", "a\tb", CodeControlChar},
		{"nul", "\x00", CodeControlChar},
		{"encoded nul", "%00", CodeControlChar},
		{"encoded lf", "a%0Ab", CodeControlChar},
		{"del", "a\x7fb", CodeControlChar},
		{"c1", "a\u0085b", CodeControlChar},
		{"bidi override", "abc\u202edcba", CodeControlChar},
		{"fullwidth solidus", "ａ／ｂ", CodeInvalidChar},
		{"fullwidth reverse solidus", "ａ＼ｂ", CodeInvalidChar},
		{"fullwidth question mark", "a？b", CodeInvalidChar},
		{"fullwidth percent", "a％2fb", CodeInvalidChar},
		{"small ampersand", "a\ufe60b", CodeInvalidChar},
		{"diaeresis becomes space", "a\u00a8b", CodeInvalidChar},
		{"broken escape", "%E0%A4%A", CodeInvalidChar},
		{"lone percent", "100%", CodeInvalidChar},
		{"double encoded slash", "%252f", CodeInvalidChar},
		{"double encoded letter", "%2541", CodeInvalidChar},
		{"invalid utf8 escape", "%ff", CodeInvalidChar},
		{"encoded surrogate", "%ED%A0%80", CodeInvalidChar},
		{"overlong slash", "%C0%AF", CodeInvalidChar},
		{"raw invalid utf8", "a\xffb", CodeInvalidChar},
		{"unassigned in Unicode 15", "a\ua7d2", CodeInvalidChar}, // new capital letter: browsers lower-case it, our tables cannot
		{"not a fixed point", "J\u030C", CodeInvalidChar},        // lower-cased "j\u030C" would NFKC-compose to "ǰ" on Jitsi's next pass
		{"noncharacter", "a\ufffe", CodeInvalidChar},
		{"capital sigma beside emoji", "ΟΔΟΣ🎉", CodeInvalidChar}, // final-sigma context differs between Unicode versions
		{"capital sigma beside IPA", "ΑΣʕ", CodeInvalidChar},
		{"star", "*", CodeEmpty},
		{"empty", "", CodeEmpty},
		{"only spaces", "   ", CodeEmpty},
		{"only stripped", `:?#[]@!$&'()*+,;=><"`, CodeEmpty},
		{"encoded stripped", "%3F%23", CodeEmpty},
		{"reserved libs", "libs", CodeReserved},
		{"reserved upper", "LIBS", CodeReserved},
		{"reserved config.js", "Config.js", CodeReserved},
		{"reserved well-known", ".well-known", CodeReserved},
		{"reserved _auth", "_auth", CodeReserved},
		{"reserved index.html", "index.html", CodeReserved},
		{"reserved after strip", "_un'lock", CodeReserved},
		{"reserved fullwidth", "ｌｉｂｓ", CodeReserved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error %q", tt.in, got, tt.code)
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("Parse(%q) error %T, want *room.Error", tt.in, err)
			}
			if re.Code != tt.code {
				t.Errorf("Parse(%q) code = %q (%v), want %q", tt.in, re.Code, err, tt.code)
			}
			if !errors.Is(err, &Error{Code: tt.code}) {
				t.Errorf("errors.Is(%v, Code %q) = false", err, tt.code)
			}
			if re.Message == "" || strings.Contains(re.Message, "\n") {
				t.Errorf("bad message %q", re.Message)
			}
		})
	}
}

func TestSlashMessage(t *testing.T) {
	for _, in := range []string{"a/b", `a\b`, "%2f", "ａ／ｂ"} {
		_, err := Parse(in)
		if err == nil || err.Error() != `Room names cannot contain '/' or '\'.` {
			t.Errorf("Parse(%q) error = %v", in, err)
		}
	}
}

// TestRoomNamesFile checks the vectors computed with node's normalize,
// toLowerCase and encodeURIComponent.
func TestRoomNamesFile(t *testing.T) {
	f, err := os.Open("testdata/room-names.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		in, want, ok := strings.Cut(text, "\t")
		if !ok {
			t.Fatalf("line %d: no tab: %q", line, text)
		}
		n++
		got, err := Parse(in)
		if err != nil {
			t.Errorf("line %d: Parse(%q): %v", line, in, err)
			continue
		}
		if got.Safe != want {
			t.Errorf("line %d: Parse(%q).Safe = %q, want %q", line, in, got.Safe, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("only %d vectors read", n)
	}
}

func TestFromState(t *testing.T) {
	tests := []struct {
		name, room, roomSafe string
		safe                 string
		code                 string
	}{
		{"both agree", "Mathe-Übung", "mathe-%c3%bcbung", "mathe-%c3%bcbung", ""},
		{"room encoded", "Mathe-%C3%9Cbung", "mathe-%c3%bcbung", "mathe-%c3%bcbung", ""},
		{"only room", "Math-101", "", "math-101", ""},
		{"only roomSafe", "", "math-101", "math-101", ""},
		{"only roomSafe non-ascii", "", "stra%c3%9fe-%c3%a4", "stra%c3%9fe-%c3%a4", ""},
		{"mismatch", "math-101", "math-102", "", CodeMismatch},
		{"mismatch upper hex", "Mathe-Übung", "mathe-%C3%BCbung", "", CodeMismatch},
		{"roomSafe not lower-case", "", "Math-101", "", CodeMismatch},
		{"roomSafe upper hex", "", "mathe-%C3%BCbung", "", CodeMismatch},
		{"roomSafe not encoded", "", "mathe-übung", "", CodeMismatch},
		{"roomSafe with stripped char", "", "a!b", "", CodeMismatch},
		{"roomSafe slash", "", "a%2fb", "", CodeInvalidChar},
		{"roomSafe double encoded", "", "a%252fb", "", CodeInvalidChar},
		{"room bad", "../x", "x", "", CodeInvalidChar},
		{"neither", "", "", "", CodeEmpty},
		{"reserved", "", "libs", "", CodeReserved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromState(tt.room, tt.roomSafe)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("FromState: %v", err)
				}
				if got.Safe != tt.safe {
					t.Errorf("Safe = %q, want %q", got.Safe, tt.safe)
				}
				return
			}
			var re *Error
			if !errors.As(err, &re) || re.Code != tt.code {
				t.Fatalf("FromState(%q, %q) = %+v, %v; want code %q", tt.room, tt.roomSafe, got, err, tt.code)
			}
		})
	}
}

func TestParseTenant(t *testing.T) {
	tests := []struct {
		in, want, code string
	}{
		{"School-A", "school-a", ""},
		{"a", "a", ""},
		{"0", "0", ""},
		{"a-b-c", "a-b-c", ""},
		{strings.Repeat("x", 63), strings.Repeat("x", 63), ""},
		{strings.Repeat("x", 64), "", CodeInvalidTenant},
		{"-x", "", CodeInvalidTenant},
		{"x-", "", CodeInvalidTenant},
		{"a_b", "", CodeInvalidTenant},
		{"a.b", "", CodeInvalidTenant},
		{"", "", CodeInvalidTenant},
		{"schüle", "", CodeInvalidTenant},
		{"a%2fb", "", CodeInvalidTenant},
		{"a/b", "", CodeInvalidTenant},
		{"\u212a", "", CodeInvalidTenant}, // Kelvin sign: only ASCII is lower-cased
		{"libs", "", CodeReserved},
		{"LIBS", "", CodeReserved},
		{"etherpad", "", CodeReserved},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTenant(tt.in)
			if tt.code == "" {
				if err != nil || got != tt.want {
					t.Fatalf("ParseTenant(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				return
			}
			var re *Error
			if !errors.As(err, &re) || re.Code != tt.code {
				t.Fatalf("ParseTenant(%q) = %q, %v; want code %q", tt.in, got, err, tt.code)
			}
		})
	}
}

func TestEncodeDecodeURIComponent(t *testing.T) {
	// encodeURIComponent keeps exactly A-Z a-z 0-9 - _ . ! ~ * ' ( ).
	var kept []byte
	for c := 0; c < 128; c++ {
		if encodeURIComponent(string(rune(c))) == string(rune(c)) {
			kept = append(kept, byte(c))
		}
	}
	const want = "!'()*-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"
	if string(kept) != want {
		t.Errorf("unreserved = %q, want %q", kept, want)
	}
	if got := encodeURIComponent("é /"); got != "%c3%a9%20%2f" {
		t.Errorf("encode = %q", got)
	}
	for _, tt := range []struct {
		in, out string
		ok      bool
	}{
		{"a+b", "a+b", true},
		{"%41%c3%a9", "Aé", true},
		{"%", "", false},
		{"%4", "", false},
		{"%zz", "", false},
		{"%c3", "", false},
		{"%c3%28", "", false},
	} {
		out, ok := decodeURIComponent(tt.in)
		if out != tt.out || ok != tt.ok {
			t.Errorf("decode(%q) = %q, %v; want %q, %v", tt.in, out, ok, tt.out, tt.ok)
		}
	}
}

var safeRE = regexp.MustCompile(`^[a-z0-9%._~!*'()-]+$`)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Math-101", "Mathe-Übung", "ΟΔΟΣ", "İstanbul", "ﬁsh", "%2f", "%252f", "..", "ａ／ｂ",
		"a\u00a8b", "%E0%A4%A", "emoji-🎉", "x?y#z", "\u212a", "ǅ", "Ⅻ", "½",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := Parse(in)
		if err != nil {
			var re *Error
			if !errors.As(err, &re) || re.Code == "" || re.Message == "" {
				t.Fatalf("Parse(%q): untyped error %v", in, err)
			}
			return
		}
		if !safeRE.MatchString(n.Safe) || strings.Contains(n.Safe, "/") {
			t.Fatalf("Parse(%q).Safe = %q has forbidden characters", in, n.Safe)
		}
		if n.Safe == "." || n.Safe == ".." || utf8.RuneCountInString(n.Display) > MaxRunes {
			t.Fatalf("Parse(%q) = %+v", in, n)
		}
		dec, ok := decodeURIComponent(n.Safe)
		if !ok || dec != n.Display {
			t.Fatalf("Parse(%q): Safe %q decodes to %q (%v), Display %q", in, n.Safe, dec, ok, n.Display)
		}
		again, err := Parse(dec)
		if err != nil || again != n {
			t.Fatalf("Parse(%q) = %+v, but Parse(%q) = %+v, %v", in, n, dec, again, err)
		}
		if again, err := Parse(n.Safe); err != nil || again != n {
			t.Fatalf("Parse(%q) = %+v, but Parse(Safe %q) = %+v, %v", in, n, n.Safe, again, err)
		}
		if fs, err := FromState(in, n.Safe); err != nil || fs != n {
			t.Fatalf("FromState(%q, %q) = %+v, %v", in, n.Safe, fs, err)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, in := range []string{"math-101", "Mathe-Übung"} {
		b.Run(in, func(b *testing.B) {
			for b.Loop() {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
