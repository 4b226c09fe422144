package redact

import (
	"fmt"
	"strings"
	"testing"

	"github.com/auditship/auditship/inputs/decode"
	"github.com/auditship/auditship/internal/leakcorpus"
)

// TestLeakCorpus runs the preset over every shape of the leak corpus (issue 12's seven
// kinds and credentials in the request URI, audit Events and kube-audit-rest lines), with canaries plain, base64 and
// gzip+base64, under every action: no canary survives in any form, the event keeps its
// identity, and what the preset keeps survives.
func TestLeakCorpus(t *testing.T) {
	shapes := leakcorpus.Shapes()
	kinds := map[int]int{}
	for _, s := range shapes {
		kinds[s.Kind]++
	}
	if len(shapes) < 100 || len(kinds) != 8 {
		t.Fatalf("%d shapes over kinds %v: want at least 100 over all eight", len(shapes), kinds)
	}
	for _, action := range []string{"mask", "remove", "hash"} {
		f := presetFilter(t, action)
		for i, s := range shapes {
			format := "audit"
			if s.Admission {
				format = "kube-audit-rest"
			}
			dec, err := decode.New(format)
			if err != nil {
				t.Fatal(err)
			}
			for _, form := range leakcorpus.Forms {
				name := fmt.Sprintf("%s/kind%d/%s/%s", action, s.Kind, s.Name, form)
				line, planted := s.Line(i, form)
				if leakcorpus.Leak(line, planted) == "" {
					t.Fatalf("%s: the line carries no canary the check finds", name)
				}
				evs, err := dec.Decode(line)
				if err != nil {
					continue // rejected whole: nothing shipped
				}
				var out strings.Builder
				for _, ev := range evs {
					keep, err := f.Apply(ev)
					if err != nil || !keep {
						t.Errorf("%s: keep=%v err=%v", name, keep, err)
						continue
					}
					out.WriteString(encode(t, ev))
					out.WriteByte('\n')
				}
				got := out.String()
				if c := leakcorpus.Leak([]byte(got), planted); c != "" {
					t.Errorf("%s: canary %s leaked:\n%s", name, c, got)
				}
				for _, want := range []string{`"auditID":`, `"verb":`} {
					if len(evs) > 0 && !strings.Contains(got, want) {
						t.Errorf("%s: lost %s: %s", name, want, got)
					}
				}
				if s.Keep != "" && !strings.Contains(got, s.Keep) {
					t.Errorf("%s: lost %s: %s", name, s.Keep, got)
				}
			}
		}
	}
}
