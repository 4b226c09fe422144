package file

import (
	"path/filepath"
	"testing"
)

// BenchmarkOnceRead measures reading, framing and decoding an audit file end to end.
func BenchmarkOnceRead(b *testing.B) {
	dir := b.TempDir()
	live := filepath.Join(dir, "audit.log")
	content := lines("b", 0, 20000)
	appendFile(b, live, content)
	b.SetBytes(int64(len(content)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got := readAll(b, newInput(b, testConfig(live), b.TempDir(), true, nil)); len(got) != 20000 {
			b.Fatalf("read %d events", len(got))
		}
	}
}
