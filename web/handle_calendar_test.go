package web

import "testing"

func TestLogPathHidesFeedTokens(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/calendar/AbC_123-xyz.ics", "/calendar/[redacted].ics"},
		{"/_auth/calendar/AbC_123-xyz.ics", "/_auth/calendar/[redacted].ics"},
		{"/_auth/calendar", "/_auth/calendar"},
		{"/_auth/calendar/new", "/_auth/calendar/new"},
		{"/_auth/rooms/r1.ics", "/_auth/rooms/r1.ics"},
		{"/join/mathe7b", "/join/mathe7b"},
	}
	for _, tt := range tests {
		if got := logPath(tt.in); got != tt.want {
			t.Errorf("logPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
