// Package secretfile reads the files a config names for credentials (passwords, API keys,
// tokens, HMAC keys, TLS keys) and certificates, with a bound on their size and a check
// of who else may read them; and, under the same rules but a larger bound, the config
// file itself and the files it names (audit policies).
package secretfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/auditship/auditship/internal/safefile"
)

// Size limits. A credential is a line, a key or a PEM block: 64 KiB is far above any of
// them and far below what would hurt. A certificate bundle (a CA file) can be a few
// hundred KiB.
const (
	MaxCredentialBytes  = 64 << 10
	MaxCertificateBytes = 4 << 20
	// MaxConfigBytes bounds the config file and the policies it names: hundreds of
	// times any real one.
	MaxConfigBytes = 16 << 20
)

// ReadCredential returns the content of path, a file holding a credential. It fails,
// naming path, unless path is a regular file (after symlinks, as Kubernetes mounts
// Secrets) of at most MaxCredentialBytes; /dev/zero or a FIFO fails at once instead of
// growing memory or blocking. warning is non-empty when group or others may read or
// write the file: a credential file should be 0600 or 0400 (a Secret volume's
// defaultMode: 0400).
func ReadCredential(path string) (data []byte, warning string, err error) {
	data, mode, owner, err := read(path, MaxCredentialBytes)
	if err != nil {
		return nil, "", err
	}
	var warnings []string
	if perm := mode.Perm(); perm&0o077 != 0 {
		warnings = append(warnings, fmt.Sprintf("%s is accessible by group or others (mode %04o); make it 0600 or 0400", path, perm))
	}
	// Whoever owns the file, or a link on the way to it, chooses the credential: for
	// hash_key_file that is knowing the key that hides redacted values.
	if uid := os.Geteuid(); owner != 0 && owner != uid {
		warnings = append(warnings, fmt.Sprintf("%s is owned by uid %d, neither root nor the agent's user (uid %d): that user chooses this credential; make root or the agent's user its owner", path, owner, uid))
	}
	if err := safefile.CheckLinks(path); err != nil {
		warnings = append(warnings, fmt.Sprintf("%v: that user chooses this credential", err))
	}
	return data, strings.Join(warnings, "; "), nil
}

// ReadCertificate returns the content of path, a certificate or CA bundle (public, so
// its mode is not checked), under the same rules as ReadCredential with
// MaxCertificateBytes.
func ReadCertificate(path string) ([]byte, error) {
	data, _, _, err := read(path, MaxCertificateBytes)
	return data, err
}

// ReadConfig returns the content of path, the config file or a file it names (an audit
// policy), under the same rules as ReadCredential with MaxConfigBytes: `validate -c
// /dev/zero` fails at once instead of reading forever.
func ReadConfig(path string) ([]byte, error) {
	data, _, _, err := read(path, MaxConfigBytes)
	return data, err
}

// read returns the file's content, its mode and its owner's uid.
func read(path string, limit int64) ([]byte, fs.FileMode, int, error) {
	// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, 0, fmt.Errorf("%s is not a regular file (%s)", path, kind(st.Mode()))
	}
	if st.Size() > limit {
		return nil, 0, 0, fmt.Errorf("%s is %d bytes; at most %d are read", path, st.Size(), limit)
	}
	// The file may grow between Stat and read: read one byte past the limit to tell.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, 0, 0, fmt.Errorf("%s is more than %d bytes", path, limit)
	}
	owner := 0
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		owner = int(sys.Uid)
	}
	return data, st.Mode(), owner, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

// ReadToken returns the content of path, a file holding one credential (a password, an
// API key, a token), with surrounding whitespace removed, under ReadCredential's rules
// and warning; an empty (or whitespace-only) file is an error naming path.
func ReadToken(path string) (token, warning string, err error) {
	b, warning, err := ReadCredential(path)
	if err != nil {
		return "", "", err
	}
	token = strings.TrimSpace(string(b))
	if token == "" {
		return "", "", fmt.Errorf("%s is empty", path)
	}
	return token, warning, nil
}

// CheckInlineOrFile validates a credential an output takes either inline (valueKey) or
// from a file (fileKey), as splunk_hec's token/token_file and kafka's password/
// password_file: exactly one of them, and the file readable as ReadToken reads it. Problems
// go to add and warnings (a file others can read, another owner) to warn, under the key
// they are about; missing is the problem reported when neither is set ("": the credential
// is optional, as each of Elasticsearch's three ways to authenticate is).
func CheckInlineOrFile(valueKey, fileKey, value, file, missing string, add, warn func(key, format string, args ...any)) {
	switch {
	case value != "" && file != "":
		add(fileKey, "set either %s or %s, not both", lastSegment(valueKey), lastSegment(fileKey))
	case value == "" && file == "":
		if missing != "" {
			add(valueKey, "%s", missing)
		}
	case file != "":
		if _, w, err := ReadToken(file); err != nil {
			add(fileKey, "%v", err)
		} else if w != "" {
			warn(fileKey, "%s", w)
		}
	}
}

// lastSegment is the key's name within its block ("password" for "sasl.password").
func lastSegment(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[i+1:]
	}
	return key
}

// InlineOrFile returns the credential a config gives inline (value) or in a file: the
// file's content as ReadToken reads it when file is set, else value. An error names
// fileKey.
func InlineOrFile(fileKey, value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	t, _, err := ReadToken(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fileKey, err)
	}
	return t, nil
}
