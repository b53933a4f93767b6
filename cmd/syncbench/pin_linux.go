package main

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinSelf restricts every thread of this process to cpus (threads started later inherit the
// mask of the thread that starts them) and returns a function that gives them every CPU
// back. The max-rate scenario runs the generator like this, away from the server's core.
func pinSelf(cpus []int) (func(), error) {
	var set, all unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		return nil, fmt.Errorf("pin generator: %w", err)
	}
	if err := setAllThreads(&set); err != nil {
		_ = setAllThreads(&all)
		return nil, err
	}
	return func() { _ = setAllThreads(&all) }, nil
}

func setAllThreads(set *unix.CPUSet) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("pin generator: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("pin generator thread %d: %w", tid, err)
		}
	}
	return nil
}
