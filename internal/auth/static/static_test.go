package static

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jitsi-gate/jitsi-gate/internal/auth"
)

// hash makes a fixture hash at a low cost so tests stay fast.
func hash(t *testing.T, pw string, cost int) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func testUsers(t *testing.T) []User {
	return []User{
		{Username: "teacher", PasswordHash: hash(t, "teach-pw", bcrypt.MinCost), Name: "Tina Teacher", Email: "t@example.org", Groups: []string{"teachers"}},
		{Username: "Student", PasswordHash: hash(t, "stud-pw", bcrypt.MinCost+1), Groups: []string{"students", "class-7b"}},
	}
}

func TestLogin(t *testing.T) {
	a, err := New("demo", "Demo accounts", testUsers(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, pw string
		want           auth.Identity
		wantErr        error
	}{
		{
			name: "teacher", user: "teacher", pw: "teach-pw",
			want: auth.Identity{Backend: "demo", Subject: "teacher", Username: "teacher", Name: "Tina Teacher", Email: "t@example.org", Groups: []string{"teachers"}},
		},
		{
			name: "username is case-insensitive, subject keeps configured spelling", user: "STUDENT", pw: "stud-pw",
			want: auth.Identity{Backend: "demo", Subject: "Student", Username: "Student", Name: "Student", Groups: []string{"students", "class-7b"}},
		},
		{name: "wrong password", user: "teacher", pw: "stud-pw", wantErr: auth.ErrInvalidCredentials},
		{name: "password is case-sensitive", user: "teacher", pw: "TEACH-PW", wantErr: auth.ErrInvalidCredentials},
		{name: "unknown user", user: "mallory", pw: "teach-pw", wantErr: auth.ErrInvalidCredentials},
		{name: "empty username", user: "", pw: "teach-pw", wantErr: auth.ErrInvalidCredentials},
		{name: "empty password", user: "teacher", pw: "", wantErr: auth.ErrInvalidCredentials},
		{name: "over-long password with the right prefix", user: "teacher", pw: "teach-pw" + strings.Repeat("x", 80), wantErr: auth.ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Login(context.Background(), tt.user, tt.pw)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !reflect.DeepEqual(got, auth.Identity{}) {
					t.Errorf("identity %+v returned with error", got)
				}
				if strings.Contains(err.Error(), tt.pw) && tt.pw != "" {
					t.Errorf("error %q contains the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Login = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoginReturnsCopies(t *testing.T) {
	a, err := New("demo", "", testUsers(t))
	if err != nil {
		t.Fatal(err)
	}
	id1, err := a.Login(context.Background(), "teacher", "teach-pw")
	if err != nil {
		t.Fatal(err)
	}
	id1.Groups[0] = "admins"
	id2, _ := a.Login(context.Background(), "teacher", "teach-pw")
	if id2.Groups[0] != "teachers" {
		t.Errorf("identity groups alias the user list: %v", id2.Groups)
	}
	if a.Label() != "demo" || a.ID() != "demo" {
		t.Errorf("ID/Label = %q/%q, want demo/demo", a.ID(), a.Label())
	}
}

func TestLoginCancelledContext(t *testing.T) {
	a, err := New("demo", "", testUsers(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Login(ctx, "teacher", "teach-pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestTimingEqualisation checks that an unknown username costs one bcrypt
// comparison against a dummy hash of the users' (highest) cost, exactly as
// a known user with a wrong password does.
func TestTimingEqualisation(t *testing.T) {
	a, err := New("demo", "", testUsers(t))
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost(a.dummyHash); err != nil || cost != bcrypt.MinCost+1 {
		t.Fatalf("dummy hash cost = %d (%v), want %d (highest user cost)", cost, err, bcrypt.MinCost+1)
	}
	type call struct{ hash []byte }
	var calls []call
	a.compare = func(h, pw []byte) error {
		calls = append(calls, call{hash: h})
		return bcrypt.CompareHashAndPassword(h, pw)
	}
	tests := []struct {
		name, user, pw string
		wantCalls      int
		wantDummy      bool
	}{
		{"unknown user", "nobody", "whatever", 1, true},
		{"unknown user, existing user's password", "nobody", "teach-pw", 1, true},
		{"known user, wrong password", "teacher", "whatever", 1, false},
		{"known user, right password", "teacher", "teach-pw", 1, false},
		{"empty password: no bcrypt for anyone", "nobody", "", 0, false},
		{"over-long password: no bcrypt for anyone", "teacher", strings.Repeat("p", 73), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls = nil
			_, _ = a.Login(context.Background(), tt.user, tt.pw)
			if len(calls) != tt.wantCalls {
				t.Fatalf("bcrypt compare called %d times, want %d", len(calls), tt.wantCalls)
			}
			if tt.wantCalls > 0 {
				if isDummy := bytes.Equal(calls[0].hash, a.dummyHash); isDummy != tt.wantDummy {
					t.Errorf("compared against dummy = %v, want %v", isDummy, tt.wantDummy)
				}
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	good := hash(t, "pw", bcrypt.MinCost)
	tests := []struct {
		name  string
		id    string
		users []User
		want  []string
	}{
		{"empty id", "", []User{{Username: "a", PasswordHash: good}}, []string{"backend id is empty"}},
		{"no users", "demo", nil, []string{"no users"}},
		{"plain-text password", "demo", []User{{Username: "a", PasswordHash: "secret"}}, []string{`user "a": password_hash is not a bcrypt hash`, "hash-password"}},
		{"truncated hash", "demo", []User{{Username: "a", PasswordHash: good[:40]}}, []string{"not a bcrypt hash"}},
		{"empty username", "demo", []User{{Username: " ", PasswordHash: good}}, []string{"users[0]: username is empty"}},
		{"duplicate ignoring case", "demo", []User{{Username: "Tina", PasswordHash: good}, {Username: "tina", PasswordHash: good}}, []string{`users[1]: username "tina" is listed twice`}},
		{
			"all problems at once", "demo",
			[]User{{Username: "a", PasswordHash: "x"}, {Username: "", PasswordHash: good}},
			[]string{`user "a"`, "users[1]: username is empty"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.id, "", tt.users)
			if err == nil {
				t.Fatalf("New = %v, want error", a)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNewCopiesInput(t *testing.T) {
	users := testUsers(t)
	a, err := New("demo", "", users)
	if err != nil {
		t.Fatal(err)
	}
	users[0].Groups[0] = "admins"
	users[0].PasswordHash = "changed"
	id, err := a.Login(context.Background(), "teacher", "teach-pw")
	if err != nil || id.Groups[0] != "teachers" {
		t.Errorf("Login after caller mutation = %+v, %v", id, err)
	}
}

func TestHashPassword(t *testing.T) {
	tests := []struct {
		name, pw string
		wantErr  string
	}{
		{"ok", "correct horse battery staple", ""},
		{"exactly 72 bytes", strings.Repeat("ä", 36), ""},
		{"empty", "", "password is empty"},
		{"73 bytes", strings.Repeat("a", 73), "password is 73 bytes; bcrypt uses at most 72"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // cost-12 hashing takes a while
			h, err := HashPassword(tt.pw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("HashPassword = %q, %v; want error %q", h, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cost, err := bcrypt.Cost([]byte(h)); err != nil || cost != Cost {
				t.Errorf("cost = %d, %v; want %d", cost, err, Cost)
			}
			// The hash works in a backend.
			a, err := New("demo", "", []User{{Username: "u", PasswordHash: h}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Login(context.Background(), "u", tt.pw); err != nil {
				t.Errorf("Login with hashed password: %v", err)
			}
		})
	}
}

// TestUsernameVariantsFindTheConfiguredUser: a directory-style match on the
// folded form, and the identity carries the configured spelling, so a rule
// for "Student" cannot be sidestepped by typing another form of it.
func TestUsernameVariantsFindTheConfiguredUser(t *testing.T) {
	a, err := New("demo", "", testUsers(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{"Student", "student", "STUDENT", "ſtudent", "ｓｔｕｄｅｎｔ", "ＳＴＵＤＥＮＴ", "ﬅudent", " student "} {
		t.Run(typed, func(t *testing.T) {
			id, err := a.Login(context.Background(), typed, "stud-pw")
			if err != nil {
				t.Fatalf("Login(%q): %v", typed, err)
			}
			if id.Username != "Student" || id.Subject != "Student" {
				t.Errorf("Login(%q) = username %q, subject %q; want the configured %q", typed, id.Username, id.Subject, "Student")
			}
		})
	}
}

func TestNewRefusesUsernamesThatFoldTogether(t *testing.T) {
	good := hash(t, "pw", bcrypt.MinCost)
	tests := []struct{ first, second string }{
		{"student2", "ｓｔｕｄｅｎｔ２"},
		{"student2", "ſtudent2"},
		{"strasse", "Straße"},
	}
	for _, tt := range tests {
		t.Run(tt.second, func(t *testing.T) {
			_, err := New("demo", "", []User{{Username: tt.first, PasswordHash: good}, {Username: tt.second, PasswordHash: good}})
			if err == nil || !strings.Contains(err.Error(), "users[1]") || !strings.Contains(err.Error(), "listed twice") {
				t.Fatalf("New with %q and %q: %v, want a duplicate error for users[1]", tt.first, tt.second, err)
			}
		})
	}
}

// TestNewIsFastAndUnknownUsersStillPayTheMaxCost: New does no bcrypt work
// even at a cost that takes seconds, while an unknown username is still
// compared against a hash of the highest configured cost.
func TestNewIsFastAndUnknownUsersStillPayTheMaxCost(t *testing.T) {
	// A cost-16 hash would take seconds to make; a synthetic one parses the
	// same, and New only parses.
	expensive, err := dummyHashFor(16)
	if err != nil {
		t.Fatal(err)
	}
	users := append(testUsers(t), User{Username: "principal", PasswordHash: string(expensive)})
	start := time.Now()
	a, err := New("demo", "", users)
	if took := time.Since(start); err != nil || took > 50*time.Millisecond {
		t.Fatalf("New took %s (%v), want well under 50ms", took, err)
	}
	var costs []int
	a.compare = func(h, _ []byte) error {
		c, err := bcrypt.Cost(h)
		if err != nil {
			t.Errorf("compared against a malformed hash %q: %v", h, err)
		}
		costs = append(costs, c)
		return bcrypt.ErrMismatchedHashAndPassword // do not spend seconds
	}
	if _, err := a.Login(context.Background(), "nobody", "pw"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	if len(costs) != 1 || costs[0] != 16 {
		t.Errorf("unknown user compared at costs %v, want one compare at cost 16", costs)
	}
}

// TestDummyHashCostsARealCompare: the synthetic hash is accepted by bcrypt
// (a mismatch, not a parse error) and takes about as long as a real hash
// of the same cost, so unknown users cannot be told apart by timing.
func TestDummyHashCostsARealCompare(t *testing.T) {
	const cost = 10
	realHash := []byte(hash(t, "real-pw", cost))
	dummy, err := dummyHashFor(cost)
	if err != nil {
		t.Fatal(err)
	}
	if err := bcrypt.CompareHashAndPassword(dummy, []byte("real-pw")); !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		t.Fatalf("compare against the dummy hash: %v, want a plain mismatch", err)
	}
	// Interleaved, fastest of five each: other processes on the machine
	// only ever add time. A hash bcrypt could not parse would fail in
	// microseconds, far below a quarter of a real compare.
	tReal, tDummy := time.Hour, time.Hour
	for range 5 {
		for _, m := range []struct {
			h    []byte
			best *time.Duration
		}{{realHash, &tReal}, {dummy, &tDummy}} {
			start := time.Now()
			_ = bcrypt.CompareHashAndPassword(m.h, []byte("guess"))
			*m.best = min(*m.best, time.Since(start))
		}
	}
	if ratio := float64(tDummy) / float64(tReal); ratio < 0.25 || ratio > 4 {
		t.Errorf("dummy compare %s vs real compare %s at cost %d: not the same work", tDummy, tReal, cost)
	}
}

func TestBcryptSlotsAreCapped(t *testing.T) {
	if cap(hashSlots) != runtime.GOMAXPROCS(0) {
		t.Errorf("process-wide bcrypt slots = %d, want GOMAXPROCS = %d", cap(hashSlots), runtime.GOMAXPROCS(0))
	}
	a, err := New("demo", "", testUsers(t))
	if err != nil {
		t.Fatal(err)
	}
	const slots = 2
	a.slots = newSemaphore(slots)
	a.slotWait = 5 * time.Second
	var mu sync.Mutex
	running, peak := 0, 0
	unblock := make(chan struct{})
	a.compare = func(h, pw []byte) error {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		<-unblock
		mu.Lock()
		running--
		mu.Unlock()
		return bcrypt.ErrMismatchedHashAndPassword
	}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = a.Login(context.Background(), []string{"teacher", "nobody"}[i%2], "pw")
		}()
	}
	// Let every goroutine reach the semaphore, then let them through.
	time.Sleep(100 * time.Millisecond)
	close(unblock)
	wg.Wait()
	if peak != slots {
		t.Errorf("%d comparisons ran at once, want at most (and, under this load, exactly) %d", peak, slots)
	}
}

func TestBusyBcryptSlotsGiveUnavailable(t *testing.T) {
	a, err := New("demo", "", testUsers(t))
	if err != nil {
		t.Fatal(err)
	}
	a.slots = newSemaphore(1)
	a.slotWait = 50 * time.Millisecond
	a.slots <- struct{}{} // someone else is hashing

	start := time.Now()
	_, err = a.Login(context.Background(), "teacher", "teach-pw")
	if !errors.Is(err, auth.ErrUnavailable) || !strings.Contains(err.Error(), "slots busy") {
		t.Fatalf("Login with every slot busy: %v, want auth.ErrUnavailable naming the busy slots", err)
	}
	if took := time.Since(start); took < 50*time.Millisecond || took > time.Second {
		t.Errorf("gave up after %s, want about the 50ms wait", took)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	a.slotWait = time.Minute
	if _, err := a.Login(ctx, "teacher", "teach-pw"); !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("Login cancelled while waiting: %v, want ErrUnavailable and context.Canceled", err)
	}

	<-a.slots // the other hash finished
	if _, err := a.Login(context.Background(), "teacher", "teach-pw"); err != nil {
		t.Errorf("Login with a free slot: %v", err)
	}
	if len(a.slots) != 0 {
		t.Errorf("%d slots still taken after the logins returned", len(a.slots))
	}
}
