package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clients finds the client address of a request, believing
// X-Forwarded-For only from trusted proxies.
type clients struct {
	trusted []netip.Prefix
}

// ip is the address rate limits and logs use: the peer, or, when the peer
// is a trusted proxy, the right-most address in X-Forwarded-For that is not
// itself a trusted proxy.
func (c clients) ip(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !c.isTrusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer.String()
		}
		if !c.isTrusted(a) {
			return a.Unmap().String()
		}
	}
	return peer.String()
}

func (c clients) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientNetwork is the rate-limit key of a client address: an IPv4
// address as is (IPv4-mapped IPv6 counts as IPv4), an IPv6 address as its
// /64, because one subscriber usually holds a whole /64 and could
// otherwise step through addresses to get a fresh budget for each. Input
// that is not an address (a Unix socket peer) is its own key.
func clientNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}
