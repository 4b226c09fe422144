package elasticsearch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/auditship/auditship/internal/eventid"
	"github.com/auditship/auditship/pipeline"
)

// indexPattern is a compiled `index` setting: literal text and %{+FORMAT} date parts,
// formatted from each event's own timestamp so that a replay lands in the same index
// as the first delivery (and its _id then conflicts instead of duplicating).
type indexPattern struct {
	parts []indexPart
	// static is set when the pattern has no date part.
	static string
	// unit is the finest date unit used, to cache names per day or hour.
	unit time.Duration
}

type indexPart struct {
	literal string
	token   dateToken
	// inDate marks a separator inside %{+...}, part of the date for wildcard().
	inDate bool
}

type dateToken uint8

const (
	tokLiteral dateToken = iota
	tokYear4
	tokYear2
	tokMonth
	tokDay
	tokHour
)

// parseIndexPattern compiles e.g. "k8s-audit-%{+yyyy.MM.dd}". Only the Joda-style tokens
// an index name needs are accepted (yyyy, yy, MM, dd, HH); anything else is an error
// rather than a surprise in the index name.
func parseIndexPattern(s string) (*indexPattern, error) {
	if s == "" {
		return nil, errors.New("must not be empty")
	}
	p := &indexPattern{unit: 24 * time.Hour}
	rest := s
	dated := false
	for rest != "" {
		i := strings.Index(rest, "%{")
		if i < 0 {
			p.parts = append(p.parts, indexPart{literal: rest})
			break
		}
		if i > 0 {
			p.parts = append(p.parts, indexPart{literal: rest[:i]})
		}
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%q: unterminated %%{", s)
		}
		format := rest[i+2 : i+end]
		rest = rest[i+end+1:]
		if !strings.HasPrefix(format, "+") {
			return nil, fmt.Errorf("%q: only date formats such as %%{+yyyy.MM.dd} are supported, not %%{%s}", s, format)
		}
		toks, err := parseDateFormat(format[1:])
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		for _, t := range toks {
			if t.token == tokHour {
				p.unit = time.Hour
			}
		}
		p.parts = append(p.parts, toks...)
		dated = true
	}
	if !dated {
		p.static = s
	}
	if err := validIndexName(p.format(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))); err != nil {
		return nil, err
	}
	return p, nil
}

func parseDateFormat(f string) ([]indexPart, error) {
	if f == "" {
		return nil, errors.New("empty date format")
	}
	tokens := []struct {
		text string
		tok  dateToken
	}{{"yyyy", tokYear4}, {"YYYY", tokYear4}, {"yy", tokYear2}, {"MM", tokMonth}, {"dd", tokDay}, {"HH", tokHour}}
	var out []indexPart
outer:
	for f != "" {
		for _, t := range tokens {
			if strings.HasPrefix(f, t.text) {
				out = append(out, indexPart{token: t.tok})
				f = f[len(t.text):]
				continue outer
			}
		}
		c := f[0]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			return nil, fmt.Errorf("unsupported date token at %q (use yyyy, yy, MM, dd, HH)", f)
		}
		out = append(out, indexPart{literal: string(c), inDate: true})
		f = f[1:]
	}
	return out, nil
}

func (p *indexPattern) format(t time.Time) string {
	if p.static != "" {
		return p.static
	}
	t = t.UTC()
	var b []byte
	for _, part := range p.parts {
		switch part.token {
		case tokLiteral:
			b = append(b, part.literal...)
		case tokYear4:
			b = appendPadded(b, t.Year(), 4)
		case tokYear2:
			b = appendPadded(b, t.Year()%100, 2)
		case tokMonth:
			b = appendPadded(b, int(t.Month()), 2)
		case tokDay:
			b = appendPadded(b, t.Day(), 2)
		case tokHour:
			b = appendPadded(b, t.Hour(), 2)
		}
	}
	return string(b)
}

// wildcard returns the pattern with every date part replaced by *, for the index
// template's index_patterns.
func (p *indexPattern) wildcard() string {
	if p.static != "" {
		return p.static
	}
	var b strings.Builder
	star := false
	for _, part := range p.parts {
		if part.token == tokLiteral && !part.inDate {
			b.WriteString(part.literal)
			star = false
			continue
		}
		if !star {
			b.WriteByte('*')
			star = true
		}
	}
	return b.String()
}

func appendPadded(b []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// indexNamer formats index names, remembering the last one: events of a batch are
// mostly from the same day.
type indexNamer struct {
	p       *indexPattern
	lastKey int64
	last    string
}

func (n *indexNamer) name(t time.Time) string {
	if n.p.static != "" {
		return n.p.static
	}
	key := t.Unix() / int64(n.p.unit/time.Second)
	if t.Unix() < 0 {
		key--
	}
	if n.last == "" || key != n.lastKey {
		n.last, n.lastKey = n.p.format(t), key
	}
	return n.last
}

// validIndexName applies Elasticsearch's rules for index and data stream names, so that
// a bad name fails `validate` instead of every bulk item.
func validIndexName(s string) error {
	switch {
	case s == "":
		return errors.New("must not be empty")
	case s == "." || s == "..":
		return fmt.Errorf("%q is not a valid index name", s)
	case len(s) > 255:
		return fmt.Errorf("%q is longer than 255 bytes", s)
	case strings.ContainsAny(s[:1], "-_+"):
		return fmt.Errorf("%q must not start with -, _ or +", s)
	case strings.ToLower(s) != s:
		return fmt.Errorf("%q must be lowercase", s)
	case strings.ContainsAny(s, "\\/*?\"<>| ,#:"):
		return fmt.Errorf("%q must not contain any of \\ / * ? \" < > | space , # :", s)
	}
	return nil
}

// eventTime is the moment an event names its index by: requestReceivedTimestamp, else
// stageTimestamp, else timestamp (kube-audit-rest), else now. raw is the timestamp as
// written, for @timestamp.
func eventTime(ev *pipeline.Event, now time.Time) (t time.Time, raw string) {
	if t, raw, ok := ev.Time(); ok {
		return t, raw
	}
	return now, now.UTC().Format(time.RFC3339Nano)
}

// docID is a document _id: 64 hex digits.
type docID [64]byte

func (d docID) String() string { return string(d[:]) }

// deriveDocID derives the document _id from the document exactly as it is sent: the
// SHA-256 of its bytes, in hex. The same event replayed through the same configuration
// gets the same id, so the replay conflicts (409) instead of duplicating; two events
// that differ in any byte get different ids, so they are never merged, even when a
// client reused an audit ID (the Audit-ID request header is client-settable) and the
// stage is the same. A 409 therefore means a document of these very bytes was already
// created. The whole digest is kept: an id an attacker could make collide by trying
// 2^64 variants of their own requests would let one request hide another.
func deriveDocID(doc []byte) docID {
	return eventid.Of(doc)
}
