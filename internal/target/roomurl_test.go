package target

import (
	"net/url"
	"testing"

	"github.com/jitsi-gate/jitsi-gate/internal/room"
)

func TestRoomURL(t *testing.T) {
	math, err := room.Parse("Mathe-Übung")
	if err != nil {
		t.Fatal(err)
	}
	config := map[string]bool{"config.startWithAudioMuted": true, "config.prejoinConfig.enabled": false}
	tests := []struct {
		name     string
		fragment bool
		t        Target
		jwt      string
		want     string
	}{
		{"query token", false, Target{Room: math}, "h.p.s", "https://meet.example.com/mathe-%c3%bcbung?jwt=h.p.s"},
		{"tenant", false, Target{Room: math, Tenant: "school-a"}, "h.p.s", "https://meet.example.com/school-a/mathe-%c3%bcbung?jwt=h.p.s"},
		{"no token", false, Target{Room: math}, "", "https://meet.example.com/mathe-%c3%bcbung"},
		{"config in the hash, sorted", false, Target{Room: math, Config: config}, "h.p.s",
			"https://meet.example.com/mathe-%c3%bcbung?jwt=h.p.s#config.prejoinConfig.enabled=false&config.startWithAudioMuted=true"},
		{"token in the fragment", true, Target{Room: math}, "h.p.s", "https://meet.example.com/mathe-%c3%bcbung#jwt=%22h.p.s%22"},
		{"token in the fragment with config", true, Target{Room: math, Config: config}, "h.p.s",
			"https://meet.example.com/mathe-%c3%bcbung#jwt=%22h.p.s%22&config.prejoinConfig.enabled=false&config.startWithAudioMuted=true"},
		{"no token, config", true, Target{Room: math, Config: config}, "",
			"https://meet.example.com/mathe-%c3%bcbung#config.prejoinConfig.enabled=false&config.startWithAudioMuted=true"},
		{"ios app", false, Target{Room: math, App: AppIOS}, "h.p.s", "org.jitsi.meet://meet.example.com/mathe-%c3%bcbung?jwt=h.p.s"},
		{"android app", false, Target{Room: math, App: AppAndroid, Tenant: "school-a"}, "h.p.s",
			"org.jitsi.meet://meet.example.com/school-a/mathe-%c3%bcbung?jwt=h.p.s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &Jitsi{URL: &url.URL{Scheme: "https", Host: "meet.example.com"}, TokenInFragment: tt.fragment}
			if got := j.RoomURL(tt.t, tt.jwt); got != tt.want {
				t.Errorf("RoomURL = %q\n want %q", got, tt.want)
			}
		})
	}
}
