package drop

import (
	"testing"

	"github.com/auditship/auditship/internal/gen"
)

// BenchmarkDrop: ns/event of a typical drop expression over the generator's mix.
func BenchmarkDrop(b *testing.B) {
	f, err := New(`verb in ["get", "list", "watch"] && user.username startsWith "system:" || objectRef?.resource == "leases"`, false)
	if err != nil {
		b.Fatal(err)
	}
	gen.New(1).Bench(b, f.Apply)
}
