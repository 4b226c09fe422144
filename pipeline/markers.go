package pipeline

import "bytes"

// Markers is a set of byte strings searched for in one pass (Event.MayContainAny). A
// filter that skips events holding none of several markers would otherwise read every
// event once per marker; bytes.Contains falls back to a slower search when the marker's
// first byte is frequent, as '"' is in JSON, so the passes cost more than one table-driven
// read. Build it once (NewMarkers) and share it: it is read-only after.
type Markers struct {
	first [256]bool     // bytes that start a marker
	by    [256][][]byte // the markers, by their first byte
	min   int           // the shortest marker's length
}

// NewMarkers returns the set of the given markers; each must be non-empty.
func NewMarkers(markers ...[]byte) *Markers {
	m := &Markers{min: -1}
	for _, k := range markers {
		if len(k) == 0 {
			panic("pipeline: empty marker")
		}
		m.first[k[0]] = true
		m.by[k[0]] = append(m.by[k[0]], k)
		if m.min < 0 || len(k) < m.min {
			m.min = len(k)
		}
	}
	return m
}

// In reports whether b contains one of the markers.
func (m *Markers) In(b []byte) bool {
	for i, end := 0, len(b)-m.min; i <= end; i++ {
		if !m.first[b[i]] {
			continue
		}
		for _, k := range m.by[b[i]] {
			if len(k) <= len(b)-i && (len(k) < 2 || b[i+1] == k[1]) && bytes.HasPrefix(b[i:], k) {
				return true
			}
		}
	}
	return false
}
