package web

import (
	"testing"
	"time"

	"github.com/jitsi-gate/jitsi-gate/internal/rooms"
	"github.com/jitsi-gate/jitsi-gate/internal/schedule"
)

// TestTodayOf checks the state a room has on the dashboard at different
// times of a day with two lessons (08:00–08:45, 10:00–10:45 on Mondays,
// Berlin time, organizers 10 minutes early).
func TestTodayOf(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	lessons := &rooms.Room{Schedule: schedule.Schedule{Location: berlin, OpenEarly: 10 * time.Minute, Weekly: []schedule.Slot{
		{Day: time.Monday, Start: 8 * 60, End: 8*60 + 45},
		{Day: time.Monday, Start: 10 * 60, End: 10*60 + 45},
	}}}
	always := &rooms.Room{}
	allDay := &rooms.Room{Schedule: schedule.Schedule{Location: berlin, Weekly: []schedule.Slot{{Day: time.Monday, Start: 0, End: 24 * 60}}}}
	monday := func(h, m int) time.Time { return time.Date(2026, 9, 14, h, m, 0, 0, berlin) }
	tests := []struct {
		name      string
		room      *rooms.Room
		organizer bool
		now       time.Time
		listed    bool
		state     string
		opens     string
		times     string
	}{
		{"before the first lesson", lessons, false, monday(7, 0), true, "opens", "08:00", "08:00–08:45"},
		{"organizer inside open_early", lessons, true, monday(7, 55), true, "open", "07:50", "08:00–08:45"},
		{"participant inside open_early waits", lessons, false, monday(7, 55), true, "opens", "08:00", "08:00–08:45"},
		{"during the first lesson", lessons, false, monday(8, 30), true, "open", "08:00", "08:00–08:45"},
		{"between the lessons: the next one", lessons, false, monday(9, 0), true, "opens", "10:00", "10:00–10:45"},
		{"after the last lesson", lessons, false, monday(12, 0), true, "ended", "10:00", "10:00–10:45"},
		{"another day: not listed", lessons, false, monday(9, 0).AddDate(0, 0, 1), false, "", "", ""},
		{"always open", always, false, monday(9, 0), true, "open", "", ""},
		{"until midnight", allDay, false, monday(9, 0), true, "open", "00:00", "00:00–24:00"},
		// The day is the room's: 23:30 UTC on Sunday is Monday in Berlin.
		{"the room's timezone decides the day", lessons, false, time.Date(2026, 9, 13, 23, 30, 0, 0, time.UTC), true, "opens", "08:00", "08:00–08:45"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item, ok := todayOf(tt.room, tt.organizer, tt.now)
			if ok != tt.listed {
				t.Fatalf("listed %v, want %v", ok, tt.listed)
			}
			if !ok {
				return
			}
			if item.State != tt.state || item.Opens != tt.opens || item.Times != tt.times {
				t.Errorf("state %q opens %q times %q, want %q %q %q", item.State, item.Opens, item.Times, tt.state, tt.opens, tt.times)
			}
		})
	}
}
