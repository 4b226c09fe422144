package decode

import (
	"fmt"
	"testing"
)

// DecodeBatch keeps every line's result in its line, in order, whether the batch is
// decoded on one goroutine or fanned out, and with invalid lines among valid ones.
func TestDecodeBatch(t *testing.T) {
	dec, err := New("audit")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 31, 64, 129, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			lines := make([]Line, n)
			for i := range lines {
				lines[i] = Line{Off: int64(i) * 100, Bytes: []byte(fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"id-%d","stage":"ResponseComplete","verb":"get"}`, i))}
				if i%7 == 3 {
					lines[i].Bytes = []byte(`{"kind":"Event"`) // cut: invalid
				}
			}
			DecodeBatch(dec, lines)
			for i, l := range lines {
				if l.Off != int64(i)*100 {
					t.Fatalf("line %d: offset changed to %d", i, l.Off)
				}
				if i%7 == 3 {
					if l.Err == nil || len(l.Events) != 0 {
						t.Fatalf("line %d: invalid line decoded to %d events, error %v", i, len(l.Events), l.Err)
					}
					continue
				}
				if l.Err != nil || len(l.Events) != 1 {
					t.Fatalf("line %d: %d events, error %v", i, len(l.Events), l.Err)
				}
				if got, _ := l.Events[0].Fields()["auditID"].(string); got != fmt.Sprintf("id-%d", i) {
					t.Fatalf("line %d holds the event of %q", i, got)
				}
			}
		})
	}
}
