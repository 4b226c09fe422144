package main

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal has the kernel kill MinIO should s3node itself be killed, so a
// SIGKILLed bench leaves no server behind.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
