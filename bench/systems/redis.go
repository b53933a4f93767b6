package systems

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// StartRedis runs redis-server on a free loopback port with persistence off and waits until it
// answers PING. Its Addr is host:port; stop it with Stop.
func StartRedis(ctx context.Context) (*Process, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", portOf(addr),
		"--save", "", "--appendonly", "no", "--protected-mode", "yes")
	p := &Process{Name: "redis", Addr: addr, out: &tail{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("systems: start redis-server: %w", err)
	}
	p.cmd, p.Pid = cmd, cmd.Process.Pid
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if pingRedis(addr) {
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%w: redis-server exited: %s", ErrNotReady, p.Output())
		case <-ctx.Done():
			p.Stop()
			return nil, fmt.Errorf("%w: redis-server: %w", ErrNotReady, ctx.Err())
		case <-tick.C:
		}
	}
	p.Stop()
	return nil, fmt.Errorf("%w: redis-server did not answer PING: %s", ErrNotReady, p.Output())
}

// pingRedis sends one inline PING and expects +PONG.
func pingRedis(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
