package auth

import (
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"Tina Teacher", 128, "Tina Teacher"},
		{"", 128, ""},
		{"  Tina  ", 128, "Tina"},
		{"Tina\nTeacher", 128, "Tina Teacher"},
		{"Tina\tTeacher\r", 128, "Tina Teacher"},
		{"Ti\x00na\x7f", 128, "Tina"},
		{"evil\u202egpj.exe", 128, "evilgpj.exe"}, // bidi override (Cf)
		{"zero\u200bwidth", 128, "zerowidth"},
		{"C1\u0085control", 128, "C1control"},
		{"bad\xffutf8", 128, "badutf8"},
		{"replacement\ufffd", 128, "replacement"},
		{"Jürgen Müller", 128, "Jürgen Müller"},
		{"abcdef", 3, "abc"},
		{"äöüß", 4, "äöüß"},
		{"äöüßx", 4, "äöüß"},
		{"ab ", 3, "ab"},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in, tt.n); got != tt.want {
			t.Errorf("Sanitize(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// FuzzSanitize checks that the shortcut for clean values answers what
// the full pass does, and that the result is always clean.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"Tina Teacher", " x", "a\nb", "\u202e", "\xff", "äöü", "tina@example.org"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 300 {
			n = 128
		}
		got, want := Sanitize(s, n), sanitize(s, n)
		if got != want {
			t.Fatalf("Sanitize(%q, %d) = %q, the full pass gives %q", s, n, got, want)
		}
		if !utf8.ValidString(got) || !isClean(got, n) {
			t.Fatalf("Sanitize(%q, %d) = %q is not clean", s, n, got)
		}
	})
}

func BenchmarkSanitize(b *testing.B) {
	for b.Loop() {
		Sanitize("Tina Teacher", 128)
	}
}
