//go:build !linux

package browser_test

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
