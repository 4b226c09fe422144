//go:build !linux

package main

import "os/exec"

// setParentDeathSignal: only Linux can tie MinIO's life to s3node's; elsewhere s3node
// kills it on exit, SIGINT and SIGTERM.
func setParentDeathSignal(*exec.Cmd) {}
