package miniotest

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal has the kernel kill MinIO should the process that started it be
// killed (a test binary at its timeout, a SIGKILLed bench), so no server is left behind.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
