package browser_test

import "syscall"

// childAttr makes a helper process (syncgate, node, Chromium's driver) die with the test binary.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
