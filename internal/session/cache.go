package session

import "sync"

// decodedCache remembers recently verified user cookies, keyed by the
// cookie value. Decoding a cookie (HMAC check, AES decryption, JSON) is the
// largest cost of /join, and a user's browser sends the same cookie for
// every room until it logs in again. Only values that verified are stored,
// the lookup key is the whole signed value, and expiry is still checked on
// every use, so a cache hit answers exactly what a fresh decode would. The
// size is bounded; it holds no state a replica would need to share.
type decodedCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]userWire
}

// decodedCacheSize bounds the cache: a few thousand active users of a
// school, about 0.5 KB each.
const decodedCacheSize = 4096

func newDecodedCache(max int) *decodedCache {
	return &decodedCache{max: max, entries: make(map[string]userWire, max)}
}

func (c *decodedCache) get(value string) (userWire, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.entries[value]
	return w, ok
}

func (c *decodedCache) put(value string, w userWire) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Drop an arbitrary entry: cheap, and a miss only costs a decode.
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[value] = w
}
