package safefile

import (
	"fmt"
	"io"
	"os"
)

// ReadOwn reads a file of the agent's own state (a checkpoint) with the checks its writes
// get: no symbolic link another user owns on the way, the last component not a link
// (O_NOFOLLOW), opened without blocking (a FIFO planted there cannot hang the start), and
// the opened file a regular one the agent's user owns with one link, at most limit bytes.
// A file planted in a data_dir someone left world-writable could otherwise tell the agent
// that everything was already shipped (silent loss), hang it, or exhaust its memory
// (/dev/zero). A missing file gives an error for which errors.Is(err, fs.ErrNotExist).
func ReadOwn(path string, limit int64) ([]byte, error) {
	if err := checkLinks(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow|nonBlock, 0)
	if err != nil {
		return nil, openErr(path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s); refusing to read it as the agent's own", path, fi.Mode().Type())
	}
	if err := checkOwner(fi, path); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes; refusing to read it", path, limit)
	}
	return data, nil
}
