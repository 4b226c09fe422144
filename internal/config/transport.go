package config

import (
	"net"
	"net/url"
	"strings"
)

// Cleartext reports whether rawURL is http:// to a host other than this machine's
// loopback (localhost, 127.0.0.0/8, ::1): what travels to it can be read and changed on
// the network. A URL that does not parse is not reported (validation reports it).
func Cleartext(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
