package i18n

import (
	"testing"
	"time"
)

func TestWhen(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// Sunday 29 November 2026, 22:30 in Berlin (21:30 UTC).
	now := time.Date(2026, 11, 29, 21, 30, 0, 0, time.UTC)
	tests := []struct {
		lang string
		at   time.Time
		want string
	}{
		{"en", time.Date(2026, 11, 29, 23, 0, 0, 0, berlin), "today at 23:00"},
		{"en", time.Date(2026, 11, 30, 8, 0, 0, 0, berlin), "tomorrow at 08:00"},
		{"de", time.Date(2026, 11, 30, 8, 0, 0, 0, berlin), "morgen um 08:00"},
		{"en", time.Date(2026, 12, 3, 10, 0, 0, 0, berlin), "on Thursday, 3 December at 10:00"},
		{"de", time.Date(2026, 12, 3, 10, 0, 0, 0, berlin), "am Donnerstag, 3. Dezember um 10:00"},
		{"de", time.Date(2027, 3, 1, 8, 0, 0, 0, berlin), "am Montag, 1. März 2027 um 08:00"},
		{"fr", time.Date(2026, 12, 3, 10, 0, 0, 0, berlin), "on Thursday, 3 December at 10:00"},
	}
	for _, tt := range tests {
		if got := New(tt.lang).When(tt.at, now); got != tt.want {
			t.Errorf("%s When(%v) = %q, want %q", tt.lang, tt.at, got, tt.want)
		}
	}
}
