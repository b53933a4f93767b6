package soak

import "syscall"

// childAttr makes a child process die with the soak, so a crashed or timed-out run leaves
// no redis-server, gateway or node behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
