//go:build !linux

package miniotest

import "os/exec"

// setParentDeathSignal: only Linux can tie MinIO's life to its starter's; elsewhere the
// starter kills it when it is done.
func setParentDeathSignal(*exec.Cmd) {}
