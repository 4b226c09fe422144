package toolcache

import (
	"os/exec"
	"syscall"
)

// SetParentDeathSignal has the kernel kill the child should the process that started it be
// killed (a test binary at its timeout, a SIGKILLed bench), so no server is left behind.
func SetParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
