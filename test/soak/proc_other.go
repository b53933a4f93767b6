//go:build !linux

package soak

import "syscall"

// childAttr: no parent-death signal outside Linux; the soak kills its children itself.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
