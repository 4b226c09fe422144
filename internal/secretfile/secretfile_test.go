package secretfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadCredential(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("k", size)), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ok600 := write("ok600", 40, 0o600)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(ok600, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, wantErr, wantWarn string
	}{
		{"0600", ok600, "", ""},
		{"0400 at the limit", write("limit", MaxCredentialBytes, 0o400), "", ""},
		{"symlink to a regular file (a Secret volume)", link, "", ""},
		{"0644", write("wide", 40, 0o644), "", "accessible by group or others (mode 0644)"},
		{"0640", write("group", 40, 0o640), "", "(mode 0640)"},
		{"0602", write("otherw", 40, 0o602), "", "(mode 0602)"},
		{"one byte over", write("big", MaxCredentialBytes+1, 0o600), "65537 bytes; at most 65536", ""},
		{"/dev/zero", "/dev/zero", "not a regular file (a character device)", ""},
		{"FIFO", fifo, "not a regular file (a named pipe)", ""},
		{"directory", dir, "not a regular file (a directory)", ""},
		{"missing", filepath.Join(dir, "nope"), "no such file", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, warn, err := ReadCredential(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.path) {
					t.Fatalf("err %v does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(data) == 0 {
				t.Fatal("no data")
			}
			if tt.wantWarn == "" && warn != "" || !strings.Contains(warn, tt.wantWarn) {
				t.Fatalf("warning = %q, want %q", warn, tt.wantWarn)
			}
		})
	}
}
