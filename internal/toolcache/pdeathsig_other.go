//go:build !linux

package toolcache

import "os/exec"

// SetParentDeathSignal: only Linux can tie a child's life to its starter's; elsewhere the
// starter kills it when it is done.
func SetParentDeathSignal(*exec.Cmd) {}
