package auth

import "testing"

func TestFoldUsername(t *testing.T) {
	tests := []struct{ in, want string }{
		{"student2", "student2"},
		{"Student2", "student2"},
		{"ſtudent2", "student2"},
		{"ｓｔｕｄｅｎｔ２", "student2"},
		{"student２", "student2"},
		{"ﬅudent2", "student2"},
		{"  STUDENT2 ", "student2"},
		{"Straße", "strasse"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := FoldUsername(tt.in); got != tt.want {
			t.Errorf("FoldUsername(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
