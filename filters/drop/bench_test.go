package drop

import (
	"testing"

	"github.com/auditship/auditship/internal/gen"
	"github.com/auditship/auditship/internal/testing/genbench"
)

// BenchmarkDrop: ns/event of a typical drop expression over the generator's mix.
func BenchmarkDrop(b *testing.B) {
	f, err := New(`verb in ["get", "list", "watch"] && user.username startsWith "system:" || objectRef?.resource == "leases"`, false)
	if err != nil {
		b.Fatal(err)
	}
	genbench.Run(b, gen.New(1), f.Apply)
}
