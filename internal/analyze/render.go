package analyze

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/auditship/auditship/inputs/file"
	"github.com/auditship/auditship/internal/config"
)

// WriteJSON writes the report as one JSON document:
// {"bytes_in", "events_in", "groups": [...], "suggestions": [...], ...}, groups limited to
// the top n by bytes (n <= 0: all) plus one "(rest)" group so the bytes still add up.
func WriteJSON(w io.Writer, r *Report, n int) error {
	out := *r
	out.Groups = topGroups(r, n)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&out)
}

// topGroups returns the n largest groups and, when more exist, one "(rest)" group holding
// the sum of the others.
func topGroups(r *Report, n int) []Group {
	if n <= 0 || len(r.Groups) <= n {
		return r.Groups
	}
	top := append([]Group(nil), r.Groups[:n]...)
	rest := Group{Key: Key{UserClass: "(rest)", User: fmt.Sprintf("%d more groups", len(r.Groups)-n)}}
	for _, g := range r.Groups[n:] {
		rest.Events += g.Events
		rest.Bytes += g.Bytes
		rest.BodyBytes += g.BodyBytes
		rest.ResponseBytes += g.ResponseBytes
		rest.ManagedFieldsBytes += g.ManagedFieldsBytes
		rest.SignalEvents += g.SignalEvents
		rest.Signal = rest.Signal || g.Signal
	}
	if r.BytesIn > 0 {
		rest.Share = float64(rest.Bytes) / float64(r.BytesIn)
	}
	return append(top, rest)
}

// WriteTable writes the report for a terminal: totals, the top n groups, the signals
// and the suggestions.
func WriteTable(w io.Writer, r *Report, n int) error {
	fmt.Fprintf(w, "%d events, %s in %d lines (%d invalid, %d over-long", r.EventsIn, config.HumanBytes(r.BytesIn), r.Lines, r.Invalid, r.OverLong)
	if r.NULBytes > 0 {
		fmt.Fprintf(w, ", %d NUL bytes skipped", r.NULBytes)
	}
	fmt.Fprintln(w, ")")
	if r.LongestLine > file.DefaultMaxLineBytes {
		fmt.Fprintf(w, "The longest line is %s: the file input skips lines over max_line_bytes (default %s); --emit-config raises it.\n",
			config.HumanBytes(r.LongestLine), config.HumanBytes(file.DefaultMaxLineBytes))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SHARE\tBYTES\tEVENTS\tUSER\tVERB\tRESOURCE\tNAMESPACES\tLEVEL\tSTAGE\tSIGNAL")
	for _, g := range topGroups(r, n) {
		sig := "-"
		if g.Signal {
			sig = strings.Join(signalNames(g.Signals), ",")
		}
		user := g.User
		if user == "" { // invalid, over-long and blank lines: their class is the name
			user = g.UserClass
		}
		fmt.Fprintf(tw, "%5.1f%%\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", 100*g.Share, config.HumanBytes(g.Bytes), g.Events,
			Display(user), Display(g.Verb), Display(g.Resource), g.NamespaceClass, Display(g.Level), Display(g.Stage), sig)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nSecurity signals (events):")
	for _, s := range AllSignals {
		fmt.Fprintf(w, " %s=%d", s, r.Signals[s])
	}
	fmt.Fprintf(w, "\n\nSuggestions (bytes saved on this input; no suggestion loses a signal):\n")
	for _, s := range r.Suggestions {
		fmt.Fprintf(w, "  %5.1f%%  %-9s %s  [signals lost: %d]\n", pct(s.BytesSaved, r.BytesIn), config.HumanBytes(s.BytesSaved), s.Title, s.SignalsLost)
	}
	return nil
}

// Display returns s as it may be printed where a person or a parser reads it (a terminal
// table, the HTML page, the comments of an emitted config): unchanged when it is valid
// UTF-8 of printable characters and spaces, else Go-quoted ("foo\nhttp:", "\x1b[2J"). The
// strings come from events — a username, a resource parsed from a request path — so
// whoever sends a request could otherwise add lines to the emitted config or send
// control sequences to the terminal of whoever runs analyze.
func Display(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || r != ' ' && !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func signalNames(m map[string]int64) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// WriteHTML writes one self-contained page (inline CSS and SVG, no scripts, no external
// assets): a bar chart of bytes by group and the suggestions.
func WriteHTML(w io.Writer, r *Report, n int) error {
	type bar struct {
		Label         string
		Width, Y      int
		Share         string
		Bytes         string
		Signal        bool
		Class         string
		Signals       string
		Events        int64
		LabelY, TextX int
	}
	groups := topGroups(r, n)
	max := int64(1)
	for _, g := range groups {
		if g.Bytes > max {
			max = g.Bytes
		}
	}
	var bars []bar
	for i, g := range groups {
		label := fmt.Sprintf("%s %s %s (%s)", Display(g.User), Display(g.Verb), Display(g.Resource), Display(g.Level))
		class := "noise"
		if g.Signal {
			class = "signal"
		}
		if g.UserClass == "(rest)" {
			label, class = g.User, "rest"
		}
		if r := []rune(label); len(r) > 58 { // runes, so a name is never cut inside a character
			label = string(r[:55]) + "..."
		}
		wd := int(float64(g.Bytes) / float64(max) * 560)
		if wd < 1 {
			wd = 1
		}
		bars = append(bars, bar{Label: label, Width: wd, Y: i*22 + 4, LabelY: i*22 + 18, TextX: 420 + wd + 6,
			Share: fmt.Sprintf("%.1f%%", 100*g.Share), Bytes: config.HumanBytes(g.Bytes), Signal: g.Signal, Class: class,
			Signals: strings.Join(signalNames(g.Signals), ", "), Events: g.Events})
	}
	type sugg struct {
		Title, Filter, Saved, Share string
		Lost                        int64
	}
	var ss []sugg
	for _, s := range r.Suggestions {
		ss = append(ss, sugg{s.Title, s.Filter, config.HumanBytes(s.BytesSaved), fmt.Sprintf("%.1f%%", pct(s.BytesSaved, r.BytesIn)), s.SignalsLost})
	}
	sigs := make([]string, 0, len(AllSignals))
	for _, s := range AllSignals {
		sigs = append(sigs, fmt.Sprintf("%s: %d", s, r.Signals[s]))
	}
	return htmlPage.Execute(w, map[string]any{
		"Events": r.EventsIn, "Bytes": config.HumanBytes(r.BytesIn), "Lines": r.Lines, "Invalid": r.Invalid,
		"Bars": bars, "Height": len(bars)*22 + 8, "Suggestions": ss, "Signals": sigs,
	})
}

var htmlPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>auditship analyze</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} table{border-collapse:collapse} td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.noise{fill:#c0392b} .signal{fill:#2e86c1} .rest{fill:#999} svg text{font:12px monospace}
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;max-width:70em}
</style></head><body>
<h1>Where the audit bytes go</h1>
<p id="totals">{{.Events}} events, {{.Bytes}} in {{.Lines}} lines ({{.Invalid}} invalid).
Red bars: groups without a security signal (candidates to drop); blue: groups with one; grey: all other groups together.</p>
<svg id="chart" role="img" aria-label="bytes by group" width="1100" height="{{.Height}}">
{{range .Bars}}<g><title>{{.Label}}: {{.Bytes}}, {{.Events}} events{{if .Signal}}; signals: {{.Signals}}{{end}}</title>
<text x="0" y="{{.LabelY}}">{{.Label}}</text>
<rect class="{{.Class}}" x="420" y="{{.Y}}" width="{{.Width}}" height="18"></rect>
<text x="{{.TextX}}" y="{{.LabelY}}">{{.Share}} {{.Bytes}}</text></g>
{{end}}</svg>
<h2>Security signals</h2>
<p>{{range .Signals}}{{.}}; {{end}}</p>
<h2>Suggestions</h2>
<table id="suggestions"><tr><th>saves</th><th></th><th>suggestion</th><th>signals lost</th></tr>
{{range .Suggestions}}<tr><td>{{.Share}}</td><td>{{.Saved}}</td><td>{{.Title}}<pre>{{.Filter}}</pre></td><td>{{.Lost}}</td></tr>
{{end}}</table>
</body></html>
`))
