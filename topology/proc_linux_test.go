package topology

import "syscall"

// childAttr makes a child die with the test binary, so a test that panics or times out leaves
// no gateway or nginx master behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
