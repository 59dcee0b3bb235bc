package main

import (
	"strings"
	"testing"
	"time"
)

func TestBufferedLogDeliversLines(t *testing.T) {
	var out syncBuffer
	b := newBufferedLog(&out)
	b.Write([]byte("first line\n"))
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(out.String(), "first line") {
		if time.Now().After(deadline) {
			t.Fatal("a buffered line was not flushed within 2s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Write([]byte("last line\n"))
	b.Close()
	if !strings.Contains(out.String(), "last line") {
		t.Error("Close did not flush the rest")
	}
}
