//go:build !unix

package toolcache

import "context"

// LockFile is a no-op where flock is unavailable: concurrent first builds then merely
// duplicate work, since each renames a complete binary into place.
func LockFile(context.Context, string) (func(), error) { return func() {}, nil }
