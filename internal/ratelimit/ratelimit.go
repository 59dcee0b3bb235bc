// Package ratelimit slows down password guessing: at most limit attempts
// per key (a username or a client address) in any window-long interval.
//
// It is an exact sliding window: each key keeps the times of its last
// `limit` counted attempts, so "5 per 15 minutes" means no 15-minute span
// ever holds a sixth attempt, and retryAfter is exactly when the oldest of
// them leaves the window. Refused attempts are not counted, so a client that
// keeps hammering is not locked out forever; it simply gets refused until
// the window has room again.
//
// Memory is bounded by maxKeys. Keys are kept in least-recently-counted
// order; expired keys are dropped as soon as they reach the old end, and
// when the table is full the least recently counted key is evicted, even if
// it still has attempts in its window. An attacker who can spray maxKeys
// distinct keys can therefore reset a victim's counter; size maxKeys well
// above the number of keys expected in one window (each key costs roughly
// 100 bytes plus 8 bytes per attempt of limit).
//
// The web layer uses one Limiter per client network (Allow on every
// password POST) and two per username (one keyed by username and client
// network, one global): Reserve counts the attempt before the backend is
// asked, so concurrent guesses cannot all slip past a Check, and Cancel
// gives the attempt back when the password was right.
package ratelimit

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sync"
	"time"
)

// DefaultMaxKeys is used when New is given maxKeys <= 0.
const DefaultMaxKeys = 100000

// maxKeyLen bounds the bytes stored per key; longer keys (a pasted novel as
// username) are replaced by their SHA-256.
const maxKeyLen = 128

// Limiter is safe for concurrent use. A nil *Limiter allows everything.
type Limiter struct {
	limit   int
	window  time.Duration
	maxKeys int
	now     func() time.Time
	epoch   time.Time // timestamps are stored as durations since epoch

	mu    sync.Mutex
	keys  map[string]*list.Element // value: *entry
	order *list.List               // front = most recently counted
}

type entry struct {
	key string
	// times is a ring of the last len(times) counted attempts (offsets
	// from epoch), oldest at head once the ring is full.
	times []time.Duration
	head  int
}

// New returns a Limiter allowing limit attempts per key in any window. A
// limit or window <= 0 disables limiting (every attempt allowed). maxKeys
// <= 0 means DefaultMaxKeys.
func New(limit int, window time.Duration, maxKeys int) *Limiter {
	return NewWithClock(limit, window, maxKeys, time.Now)
}

// NewWithClock is New with an injected clock, for tests.
func NewWithClock(limit int, window time.Duration, maxKeys int, now func() time.Time) *Limiter {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{
		limit:   limit,
		window:  window,
		maxKeys: maxKeys,
		now:     now,
		epoch:   now(),
		keys:    make(map[string]*list.Element),
		order:   list.New(),
	}
}

func (l *Limiter) disabled() bool {
	return l == nil || l.limit <= 0 || l.window <= 0
}

// Allow counts an attempt for key if the window has room and reports
// whether it may proceed; when not, retryAfter says how long until it may.
// A refused attempt is not counted.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	_, ok, retryAfter = l.Reserve(key)
	return ok, retryAfter
}

// Reservation is one attempt counted by Reserve. Cancel gives it back.
// The zero Reservation (nothing counted) cancels nothing.
type Reservation struct {
	l   *Limiter
	key string
	at  time.Duration
}

// Reserve is Allow that remembers the attempt it counted, so that it can be
// given back (Cancel) once its outcome is known, e.g. after a successful
// login. Counting before the slow backend call is what makes the limit hold
// under concurrency: a Check followed by a later Add lets every concurrent
// request pass the Check.
func (l *Limiter) Reserve(key string) (r Reservation, ok bool, retryAfter time.Duration) {
	if l.disabled() {
		return Reservation{}, true, 0
	}
	key = normKey(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.since()
	l.expire(now)
	e := l.lookup(key)
	if e != nil {
		if wait := l.wait(e, now); wait > 0 {
			return Reservation{}, false, wait
		}
	}
	l.record(key, e, now)
	return Reservation{l: l, key: key, at: now}, true, 0
}

// Cancel removes the attempt r counted. It is a no-op when the attempt is
// already gone (the key expired, was evicted or Reset, or Add pushed the
// attempt out of a full ring), and for the zero Reservation. Calling it
// twice removes at most one further attempt of the same instant, so call
// it once.
func (r Reservation) Cancel() {
	if r.l == nil {
		return
	}
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.keys[r.key]
	if !ok {
		return
	}
	e := el.Value.(*entry)
	// Unroll the ring oldest first, drop one attempt made at r.at (equal
	// instants are interchangeable), and keep it unrolled (head 0): with
	// fewer than limit entries record appends again.
	ordered := append(slices.Clone(e.times[e.head:]), e.times[:e.head]...)
	i := slices.Index(ordered, r.at)
	if i < 0 {
		return
	}
	e.times = slices.Delete(ordered, i, i+1)
	e.head = 0
	if len(e.times) == 0 {
		l.remove(el)
	}
}

// Check reports whether an attempt for key would be allowed, without
// counting one.
func (l *Limiter) Check(key string) (ok bool, retryAfter time.Duration) {
	if l.disabled() {
		return true, 0
	}
	key = normKey(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.since()
	l.expire(now)
	if e := l.lookup(key); e != nil {
		if wait := l.wait(e, now); wait > 0 {
			return false, wait
		}
	}
	return true, 0
}

// Add counts an attempt (a failed login) for key, whether or not the window
// has room; once full, the window keeps the most recent attempts.
func (l *Limiter) Add(key string) {
	if l.disabled() {
		return
	}
	key = normKey(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.since()
	l.expire(now)
	l.record(key, l.lookup(key), now)
}

// Reset forgets key, e.g. a username after a successful login.
func (l *Limiter) Reset(key string) {
	if l.disabled() {
		return
	}
	key = normKey(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.keys[key]; ok {
		l.remove(el)
	}
}

// Len is the number of keys currently held (for tests and metrics).
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

func (l *Limiter) since() time.Duration { return l.now().Sub(l.epoch) }

func (l *Limiter) lookup(key string) *entry {
	if el, ok := l.keys[key]; ok {
		return el.Value.(*entry)
	}
	return nil
}

// wait returns how long until e may count another attempt; 0 when it may
// now. The window is full only when the ring is full and its oldest attempt
// is still inside the window.
func (l *Limiter) wait(e *entry, now time.Duration) time.Duration {
	if len(e.times) < l.limit {
		return 0
	}
	oldest := e.times[e.head]
	if until := oldest + l.window - now; until > 0 {
		return until
	}
	return 0
}

// record counts an attempt at now, creating the entry if needed, and moves
// the key to the recent end.
func (l *Limiter) record(key string, e *entry, now time.Duration) {
	if e == nil {
		for len(l.keys) >= l.maxKeys {
			l.remove(l.order.Back())
		}
		e = &entry{key: key, times: make([]time.Duration, 0, min(l.limit, 8))}
		l.keys[key] = l.order.PushFront(e)
	} else {
		l.order.MoveToFront(l.keys[key])
	}
	if len(e.times) < l.limit {
		e.times = append(e.times, now)
		return
	}
	e.times[e.head] = now
	e.head = (e.head + 1) % len(e.times)
}

// expire drops keys whose newest attempt has left the window. Keys are in
// least-recently-counted order, so the scan stops at the first live one;
// the cost is paid once per key over its lifetime.
func (l *Limiter) expire(now time.Duration) {
	for el := l.order.Back(); el != nil; el = l.order.Back() {
		e := el.Value.(*entry)
		if now-e.newest() < l.window {
			return
		}
		l.remove(el)
	}
}

func (e *entry) newest() time.Duration {
	if len(e.times) == 0 {
		return 0
	}
	i := e.head - 1
	if i < 0 {
		i = len(e.times) - 1
	}
	return e.times[i]
}

func (l *Limiter) remove(el *list.Element) {
	e := l.order.Remove(el).(*entry)
	delete(l.keys, e.key)
}

func normKey(key string) string {
	if len(key) <= maxKeyLen {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}
