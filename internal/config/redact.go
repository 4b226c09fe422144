package config

import (
	"net/url"
	"regexp"
	"strings"
)

// RedactedUserinfo replaces the userinfo (user:password) of a URL quoted in an error or
// a log line.
const RedactedUserinfo = "REDACTED"

// RedactURL returns raw, a URL from the config, with its userinfo replaced by
// RedactedUserinfo, so that it can be quoted in an error. It works on URLs that do not
// parse too (htps://elastic:PASSWORD@host, elastic:PASSWORD@host:9200): everything
// between the scheme's "//" (or the start) and the last "@" goes. A URL without "@" is
// returned as it is.
func RedactURL(raw string) string {
	at := strings.LastIndexByte(raw, '@')
	if at < 0 {
		return raw
	}
	if u, err := url.Parse(raw); err == nil && u.User != nil && u.Opaque == "" && strings.Count(raw, "@") == 1 {
		u.User = url.User(RedactedUserinfo)
		return u.String()
	}
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 && i < at {
		start = i + len("://")
	}
	return raw[:start] + RedactedUserinfo + raw[at:]
}

// urlUserinfo finds what looks like a URL with userinfo in free text: a scheme, "//", and
// everything up to the last "@" before the next space or quote.
var urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^\s"'@]*(?:@[^\s"'@]*)*@`)

// RedactURLs replaces the userinfo of every URL in text (an error message, a problem
// line) by RedactedUserinfo: the last line of defence for values quoted by code that
// did not redact them itself (a decode error quoting an AUDITSHIP_* override, say).
func RedactURLs(text string) string {
	if !strings.Contains(text, "@") {
		return text
	}
	return urlUserinfo.ReplaceAllString(text, "${1}"+RedactedUserinfo+"@")
}
