package testenv

import "syscall"

// childAttr makes a helper process die with the test binary, so a test that
// panics or times out leaves no redis-server or node behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
