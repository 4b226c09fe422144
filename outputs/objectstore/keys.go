package objectstore

import (
	"os"
	"strings"
	"time"

	"github.com/auditship/auditship/pipeline"
)

// eventTime returns the event's own time (pipeline.Event.Time: the time the API server
// received the request, stable across an event's stages), or ok=false when it carries none
// that parses.
func eventTime(ev *pipeline.Event) (t time.Time, ok bool) {
	t, _, ok = ev.Time()
	return t.UTC(), ok
}

// group is the events of one batch that fall into one hour, in batch order.
type group struct {
	first time.Time
	idx   []int
}

// partition splits a batch by the hour of each event's own time (now for events without
// one), so events of different hours never share an object.
func partition(b pipeline.Batch, now time.Time) []group {
	byHour := map[time.Time]int{}
	var groups []group
	for i, ev := range b {
		t, ok := eventTime(ev)
		if !ok {
			t = now.UTC()
		}
		h := t.Truncate(time.Hour)
		gi, seen := byHour[h]
		if !seen {
			gi = len(groups)
			byHour[h] = gi
			groups = append(groups, group{first: t})
		}
		groups[gi].idx = append(groups[gi].idx, i)
	}
	return groups
}

// objectKey is PREFIX/YYYY/MM/DD/HH/NODE-<first event time>-<digest><ext>. The node keeps
// agents apart; the digest of the content makes a retry of the same events overwrite its
// earlier attempt instead of adding a duplicate, and keeps different content apart across
// restarts.
func objectKey(prefix, node string, first time.Time, digest, ext string) string {
	var sb strings.Builder
	sb.WriteString(prefix)
	sb.WriteString(first.Format("2006/01/02/15/"))
	sb.WriteString(node)
	sb.WriteByte('-')
	sb.WriteString(first.Format("20060102T150405.000Z"))
	sb.WriteByte('-')
	sb.WriteString(digest)
	sb.WriteString(ext)
	return sb.String()
}

// nodeName picks the configured name, else the agent's, else the hostname, made safe for
// a key.
func nodeName(configured, agent string) string {
	n := configured
	if n == "" {
		n = agent
	}
	if n == "" {
		n, _ = os.Hostname()
	}
	if n == "" {
		return "unknown"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, n)
}
