//go:build !linux

package topology

import "syscall"

// childAttr has nothing to add outside Linux (no parent-death signal).
func childAttr() *syscall.SysProcAttr { return nil }
