package ratelimit

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock, safe for concurrent reads.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// step is one call in a scripted scenario.
type step struct {
	advance   time.Duration // before the call
	op        string        // allow | check | add | reset
	key       string
	wantOK    bool
	wantRetry time.Duration
}

func run(t *testing.T, l *Limiter, clk *fakeClock, steps []step) {
	t.Helper()
	for i, s := range steps {
		clk.Advance(s.advance)
		var ok bool
		var retry time.Duration
		switch s.op {
		case "allow":
			ok, retry = l.Allow(s.key)
		case "check":
			ok, retry = l.Check(s.key)
		case "add":
			l.Add(s.key)
			continue
		case "reset":
			l.Reset(s.key)
			continue
		default:
			t.Fatalf("bad op %q", s.op)
		}
		if ok != s.wantOK || retry != s.wantRetry {
			t.Errorf("step %d (%s %q at +%v): got (%v, %v), want (%v, %v)",
				i, s.op, s.key, clk.Now().Sub(newClock().t), ok, retry, s.wantOK, s.wantRetry)
		}
	}
}

func TestScenarios(t *testing.T) {
	const minute = time.Minute
	tests := []struct {
		name  string
		limit int
		steps []step
	}{
		{
			name: "limit then refuse with exact retryAfter", limit: 3,
			steps: []step{
				{0, "allow", "ip", true, 0},
				{10 * time.Second, "allow", "ip", true, 0},
				{10 * time.Second, "allow", "ip", true, 0},
				{5 * time.Second, "allow", "ip", false, 35 * time.Second},
				{0, "check", "ip", false, 35 * time.Second},
			},
		},
		{
			name: "window rolls over one attempt at a time", limit: 3,
			steps: []step{
				{0, "allow", "ip", true, 0},                // t=0
				{20 * time.Second, "allow", "ip", true, 0}, // t=20
				{20 * time.Second, "allow", "ip", true, 0}, // t=40
				{10 * time.Second, "allow", "ip", false, 10 * time.Second},
				{10 * time.Second, "allow", "ip", true, 0}, // t=60: the t=0 attempt left
				{1 * time.Second, "allow", "ip", false, 19 * time.Second},
				{19 * time.Second, "allow", "ip", true, 0},  // t=80
				{0, "check", "ip", false, 20 * time.Second}, // next: t=40 leaves at 100
				{2 * minute, "allow", "ip", true, 0},        // everything expired
				{0, "allow", "ip", true, 0},
			},
		},
		{
			name: "refused attempts are not counted", limit: 2,
			steps: []step{
				{0, "allow", "ip", true, 0},
				{0, "allow", "ip", true, 0},
				{30 * time.Second, "allow", "ip", false, 30 * time.Second},
				{10 * time.Second, "allow", "ip", false, 20 * time.Second},
				{10 * time.Second, "allow", "ip", false, 10 * time.Second},
				{10 * time.Second, "allow", "ip", true, 0},
			},
		},
		{
			name: "check does not count", limit: 2,
			steps: []step{
				{0, "check", "u", true, 0},
				{0, "check", "u", true, 0},
				{0, "check", "u", true, 0},
				{0, "allow", "u", true, 0},
				{0, "check", "u", true, 0},
				{0, "allow", "u", true, 0},
				{0, "check", "u", false, minute},
			},
		},
		{
			name: "username flow: check, add on failure, reset on success", limit: 3,
			steps: []step{
				{0, "check", "tina", true, 0},
				{0, "add", "tina", false, 0},
				{5 * time.Second, "add", "tina", false, 0},
				{5 * time.Second, "check", "tina", true, 0},
				{0, "add", "tina", false, 0},
				{0, "check", "tina", false, 50 * time.Second},
				{0, "reset", "tina", false, 0},
				{0, "check", "tina", true, 0},
			},
		},
		{
			name: "add past the limit keeps the newest attempts", limit: 2,
			steps: []step{
				{0, "add", "u", false, 0},                  // t=0
				{10 * time.Second, "add", "u", false, 0},   // t=10
				{10 * time.Second, "add", "u", false, 0},   // t=20, t=0 dropped
				{0, "check", "u", false, 50 * time.Second}, // t=10 leaves at 70
				{50 * time.Second, "check", "u", true, 0},
			},
		},
		{
			name: "keys are independent", limit: 1,
			steps: []step{
				{0, "allow", "a", true, 0},
				{0, "allow", "a", false, minute},
				{0, "allow", "b", true, 0},
				{0, "check", "c", true, 0},
				{0, "reset", "b", false, 0},
				{0, "allow", "a", false, minute},
				{0, "allow", "b", true, 0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			run(t, NewWithClock(tt.limit, minute, 0, clk.Now), clk, tt.steps)
		})
	}
}

func TestDisabled(t *testing.T) {
	var nilLimiter *Limiter
	tests := []struct {
		name string
		l    *Limiter
	}{
		{"nil", nilLimiter},
		{"limit 0", New(0, time.Minute, 0)},
		{"negative limit", New(-1, time.Minute, 0)},
		{"window 0", New(3, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 100 {
				tt.l.Add("k")
				if ok, retry := tt.l.Allow("k"); !ok || retry != 0 {
					t.Fatalf("Allow = %v, %v", ok, retry)
				}
			}
			if ok, _ := tt.l.Check("k"); !ok {
				t.Error("Check refused")
			}
			tt.l.Reset("k")
			if n := tt.l.Len(); n != 0 {
				t.Errorf("disabled limiter holds %d keys", n)
			}
		})
	}
}

func TestMemoryBound(t *testing.T) {
	clk := newClock()
	const maxKeys = 100
	l := NewWithClock(1, time.Hour, maxKeys, clk.Now)
	for i := range 10 * maxKeys {
		if ok, _ := l.Allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256)); !ok {
			t.Fatalf("first attempt of key %d refused", i)
		}
		if n := l.Len(); n > maxKeys {
			t.Fatalf("after %d keys Len = %d > %d", i+1, n, maxKeys)
		}
	}
	if n := l.Len(); n != maxKeys {
		t.Errorf("Len = %d, want %d", n, maxKeys)
	}
	// The most recent keys are kept (still limited), the oldest evicted.
	last := fmt.Sprintf("10.0.%d.%d", (10*maxKeys-1)/256, (10*maxKeys-1)%256)
	if ok, _ := l.Check(last); ok {
		t.Error("most recent key was evicted")
	}
	if ok, _ := l.Check("10.0.0.0"); !ok {
		t.Error("oldest key was not evicted")
	}
}

func TestDefaultMaxKeys(t *testing.T) {
	if l := New(1, time.Minute, 0); l.maxKeys != DefaultMaxKeys {
		t.Errorf("maxKeys = %d, want %d", l.maxKeys, DefaultMaxKeys)
	}
}

func TestExpiredKeysAreDropped(t *testing.T) {
	clk := newClock()
	l := NewWithClock(5, time.Minute, 0, clk.Now)
	for i := range 50 {
		l.Add(fmt.Sprint("user", i))
	}
	clk.Advance(30 * time.Second)
	l.Add("late")
	if n := l.Len(); n != 51 {
		t.Fatalf("Len = %d, want 51", n)
	}
	clk.Advance(31 * time.Second) // the first 50 are a minute old
	l.Check("anything")
	if n := l.Len(); n != 1 {
		t.Errorf("Len after the window = %d, want 1 (only \"late\")", n)
	}
	clk.Advance(time.Minute)
	l.Check("anything")
	if n := l.Len(); n != 0 {
		t.Errorf("Len = %d, want 0", n)
	}
}

func TestLongKeys(t *testing.T) {
	clk := newClock()
	l := NewWithClock(1, time.Minute, 0, clk.Now)
	a := strings.Repeat("x", 10000) + "a"
	b := strings.Repeat("x", 10000) + "b"
	if ok, _ := l.Allow(a); !ok {
		t.Fatal("first a refused")
	}
	if ok, _ := l.Allow(a); ok {
		t.Error("second a allowed")
	}
	if ok, _ := l.Allow(b); !ok {
		t.Error("b shares a's counter")
	}
	for k := range l.keys {
		if len(k) > maxKeyLen {
			t.Errorf("stored key of %d bytes", len(k))
		}
	}
}

func TestConcurrent(t *testing.T) {
	clk := newClock()
	const limit, keys, workers, perWorker = 7, 5, 16, 50
	l := NewWithClock(limit, time.Minute, 3, clk.Now) // fewer slots than keys: eviction under contention
	var allowed [keys]atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				k := (w + i) % keys
				key := fmt.Sprint("k", k)
				switch i % 4 {
				case 0, 1:
					if ok, _ := l.Allow(key); ok {
						allowed[k].Add(1)
					}
				case 2:
					l.Check(key)
					l.Add(key)
				case 3:
					if i%8 == 3 {
						l.Reset(key)
					}
					_ = l.Len()
				}
			}
		}()
	}
	wg.Wait()
	if n := l.Len(); n > 3 {
		t.Errorf("Len = %d > maxKeys 3", n)
	}

	// Without eviction or resets, exactly limit attempts per key pass.
	l = NewWithClock(limit, time.Minute, 0, clk.Now)
	var total atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWorker {
				if ok, _ := l.Allow("shared"); ok {
					total.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := total.Load(); got != limit {
		t.Errorf("%d concurrent attempts allowed, want exactly %d", got, limit)
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(10, time.Minute, 0)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("192.0.2.%d/%d", i%256, i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Allow(keys[i%len(keys)])
		i++
	}
}

func TestReserveAndCancel(t *testing.T) {
	clk := newClock()
	l := NewWithClock(3, time.Minute, 0, clk.Now)
	r1, ok, _ := l.Reserve("u")
	if !ok {
		t.Fatal("first reservation refused")
	}
	clk.Advance(10 * time.Second)
	r2, _, _ := l.Reserve("u")
	clk.Advance(10 * time.Second)
	if _, ok, _ := l.Reserve("u"); !ok {
		t.Fatal("third reservation refused")
	}
	if _, ok, wait := l.Reserve("u"); ok || wait != 40*time.Second {
		t.Fatalf("fourth reservation: ok %v wait %v, want refused for 40s", ok, wait)
	}
	// Giving back the middle attempt frees exactly one slot.
	r2.Cancel()
	if _, ok, _ := l.Reserve("u"); !ok {
		t.Fatal("no room after Cancel")
	}
	if _, ok, _ := l.Reserve("u"); ok {
		t.Fatal("Cancel freed more than one attempt")
	}
	// Giving back the oldest attempt (+0s) changes when the window frees
	// up: all three attempts now date from +20s, so a full minute.
	r1.Cancel()
	r4, ok, _ := l.Reserve("u")
	if !ok {
		t.Fatal("no room after cancelling the oldest attempt")
	}
	if _, ok, wait := l.Reserve("u"); ok || wait != time.Minute {
		t.Fatalf("after cancelling the oldest: ok %v wait %v, want refused for 1m", ok, wait)
	}
	// Cancel after Reset, and the zero Reservation, are no-ops.
	l.Reset("u")
	r4.Cancel()
	Reservation{}.Cancel()
	if n := l.Len(); n != 0 {
		t.Errorf("Len = %d after Reset, want 0", n)
	}
	// Cancelling the only attempt drops the key.
	r, _, _ := l.Reserve("v")
	r.Cancel()
	if n := l.Len(); n != 0 {
		t.Errorf("Len = %d after cancelling the only attempt, want 0", n)
	}
	// A disabled limiter hands out no-op reservations.
	var off *Limiter
	if r, ok, _ := off.Reserve("x"); !ok {
		t.Error("nil limiter refused")
	} else {
		r.Cancel()
	}
}

// TestReserveConcurrent is the race the web layer had: many concurrent
// attempts for one key, each counted before its slow backend call. Exactly
// limit get through, and cancelling the ones that "succeeded" lets that many
// more through.
func TestReserveConcurrent(t *testing.T) {
	const limit, workers = 5, 35
	l := New(limit, time.Minute, 0)
	var passed atomic.Int64
	var mu sync.Mutex
	var held []Reservation
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if r, ok, _ := l.Reserve("student"); ok {
				passed.Add(1)
				time.Sleep(time.Millisecond) // the backend call
				mu.Lock()
				held = append(held, r)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := passed.Load(); got != limit {
		t.Fatalf("%d of %d concurrent attempts passed, want exactly %d", got, workers, limit)
	}
	held[0].Cancel()
	held[1].Cancel()
	for i := range 3 {
		_, ok, _ := l.Reserve("student")
		if want := i < 2; ok != want {
			t.Errorf("reservation %d after two cancels: ok %v, want %v", i, ok, want)
		}
	}
}
