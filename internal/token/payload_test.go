package token

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzPayloadMatchesEncodingJSON holds appendPayload to encoding/json's
// output, byte for byte, for any strings, flags and features.
func FuzzPayloadMatchesEncodingJSON(f *testing.F) {
	f.Add("classroom-gateway", "Ada Lovelace", "ada@example.edu", "recording", int64(1795975940), uint8(0b1011))
	f.Add("", "<script>&\"\\\n\t\b\f\r\x00\x1f\x7f", "", "", int64(-1), uint8(0))
	f.Add("\u2028\u2029", "Jürgen \xff\xfe Müller", "\ufffd", "live<streaming>", int64(0), uint8(0xff))
	f.Add("a", "\xed\xa0\x80", "\xf4\x90\x80\x80", "x\u2028y", int64(1<<62), uint8(0b0110))
	f.Fuzz(func(t *testing.T, s1, s2, s3, feature string, n int64, flags uint8) {
		yes, no := true, false
		c := wireClaims{
			Issuer: s1, Audience: s2, Subject: s3, Room: s1 + s2,
			IssuedAt: n, NotBefore: n - 60, ExpiresAt: -n,
			Context: Context{User: User{ID: s3, Name: s2, Email: s1, Affiliation: feature,
				Moderator: flags&1 != 0}},
		}
		if flags&2 != 0 {
			c.Context.User.LobbyBypass = &yes
		}
		if flags&4 != 0 {
			c.Context.User.Lobby = &no
		}
		if flags&8 != 0 {
			c.Context.Features = map[string]bool{feature: flags&16 != 0, "recording": true, s1: false, "": true}
		}
		if flags&32 != 0 {
			c.Context.Features = map[string]bool{}
		}
		want, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendPayload(nil, &c); !bytes.Equal(got, want) {
			t.Fatalf("appendPayload:\n%s\nencoding/json:\n%s", got, want)
		}
	})
}

// A rule with more features than the sort's stack buffer still encodes
// them all, in order.
func TestPayloadManyFeatures(t *testing.T) {
	c := wireClaims{Issuer: "i", Context: Context{Features: map[string]bool{}}}
	for _, k := range []string{"recording", "livestreaming", "transcription", "outbound-call", "sip-inbound-call",
		"sip-outbound-call", "inbound-call", "screen-sharing", "file-upload", "list-visitors", "send-groupchat",
		"create-polls", "flip", "room-metadata", "moderation", "breakout-rooms", "whiteboard", "lobby"} {
		c.Context.Features[k] = len(k)%2 == 0
	}
	want, _ := json.Marshal(&c)
	if got := appendPayload(nil, &c); !bytes.Equal(got, want) {
		t.Fatalf("appendPayload:\n%s\nencoding/json:\n%s", got, want)
	}
}
