package loadgen

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The websocket sockets of a fleet are read by a few epoll loops rather than one goroutine
// each: a loop wakes once for many ready sockets and reads each with one read(2), where a
// goroutine per socket costs a second, empty read and a park/unpark per message. On a 2-core
// machine shared with the server under test, that halves the generator's CPU per delivery.

// epollLoop owns one epoll set and reads its sockets.
type epollLoop struct {
	epfd   int
	wakefd int // an eventfd: written to stop the loop
	done   chan struct{}
	buf    []byte
}

// poller is a fleet's set of epoll loops.
type poller struct {
	loops []*epollLoop
	once  sync.Once
}

const wakeIndex = -1 // EpollEvent.Pad of the stop eventfd

func newEpollLoop() (*epollLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("loadgen: epoll_create: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("loadgen: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd), Pad: wakeIndex}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(wakefd)
		return nil, fmt.Errorf("loadgen: epoll_ctl eventfd: %w", err)
	}
	return &epollLoop{epfd: epfd, wakefd: wakefd, done: make(chan struct{}), buf: make([]byte, 64<<10)}, nil
}

// start makes the fleet's loops, one per P, once.
func (p *poller) start(f *Fleet) error {
	var err error
	p.once.Do(func() {
		for range runtime.GOMAXPROCS(0) {
			l, e := newEpollLoop()
			if e != nil {
				err = e
				return
			}
			p.loops = append(p.loops, l)
			go l.run(f)
		}
	})
	if err == nil && len(p.loops) == 0 {
		err = errors.New("loadgen: epoll loops failed to start")
	}
	return err
}

// stop ends every loop and waits for them.
func (p *poller) stop() {
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	for _, l := range p.loops {
		_, _ = unix.Write(l.wakefd, one)
	}
	for _, l := range p.loops {
		<-l.done
		_ = unix.Close(l.epfd)
		_ = unix.Close(l.wakefd)
	}
	p.loops = nil
}

func (l *epollLoop) run(f *Fleet) {
	defer close(l.done)
	events := make([]unix.EpollEvent, 256)
	for {
		// A bounded wait (1 ms) and the Gosched below bring the loop back through Go's
		// scheduler often: a P held by a goroutine blocked in a raw syscall runs neither the
		// timers nor the goroutines queued on it until sysmon takes it back, which can take
		// 10 ms — and the open-loop sender's schedule would slip by that much.
		n, err := unix.EpollWait(l.epfd, events, 1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			if ev.Pad == wakeIndex {
				return
			}
			s := f.sockets[ev.Pad]
			s.rmu.Lock()
			if s.fd >= 0 {
				if err := s.readReady(l.buf); err != nil {
					s.end(err)
					_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
					_ = unix.Close(s.fd)
					s.fd = -1
				}
			}
			s.rmu.Unlock()
		}
		// Let other goroutines (and due timers) have the P between batches: a loop reading
		// a burst of deliveries keeps it for milliseconds otherwise.
		runtime.Gosched()
	}
}

// handOver (with s.rmu held) moves a connected socket from its net.Conn to a raw descriptor read by an epoll
// loop. Bytes the handshake reader had already buffered are processed first.
func (s *Socket) handOver(ws *wsConn) error {
	f := s.f
	if err := f.poll.start(f); err != nil {
		return err
	}
	tc, ok := ws.nc.(*net.TCPConn)
	if !ok {
		return fmt.Errorf("loadgen: %T is not a TCP connection", ws.nc)
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return fmt.Errorf("loadgen: raw conn: %w", err)
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(raw uintptr) { fd, dupErr = unix.Dup(int(raw)) }); err != nil || dupErr != nil {
		return fmt.Errorf("loadgen: dup socket: %w", errors.Join(err, dupErr))
	}
	// Closing the net.Conn takes the descriptor out of Go's poller; the duplicate keeps the
	// connection open (no FIN is sent while a descriptor refers to it) and non-blocking.
	_ = ws.nc.SetDeadline(time.Time{})
	_ = ws.nc.Close()
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return fmt.Errorf("loadgen: non-blocking socket: %w", err)
	}
	s.fd = fd
	s.mask = ws.mask
	if n := ws.br.Buffered(); n > 0 {
		b, _ := ws.br.Peek(n)
		if err := s.consume(append([]byte(nil), b...)); err != nil {
			_ = unix.Close(fd)
			s.fd = -1
			return err
		}
	}
	l := f.poll.loops[s.idx%len(f.poll.loops)]
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd), Pad: int32(s.idx)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		_ = unix.Close(fd)
		s.fd = -1
		return fmt.Errorf("loadgen: epoll_ctl add: %w", err)
	}
	return nil
}

// readReady reads what the socket has (one read) and handles every complete frame in it.
func (s *Socket) readReady(buf []byte) error {
	n, err := unix.Read(s.fd, buf)
	switch {
	case err != nil && (errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR)):
		return nil
	case err != nil:
		return fmt.Errorf("loadgen: read: %w", err)
	case n == 0:
		return ErrClosed
	}
	return s.consume(buf[:n])
}

// consume handles the complete frames of data (after what an earlier read left over) and
// keeps the incomplete rest.
func (s *Socket) consume(data []byte) error {
	if len(s.partial) > 0 {
		s.partial = append(s.partial, data...)
		data = s.partial
	}
	for {
		op, fin, payload, size, err := parseFrame(data)
		if err != nil {
			return err
		}
		if size == 0 {
			break
		}
		data = data[size:]
		if !fin {
			return fmt.Errorf("%w: fragmented message", ErrFrame)
		}
		switch op {
		case opText:
			switch s.handle(payload) {
			case actPong:
				if err := s.writeRaw(opText, s.pong()); err != nil {
					return err
				}
			case actClose:
				return ErrClosed
			}
		case opPing:
			if err := s.writeRaw(opPong, payload); err != nil {
				return err
			}
		case opClose:
			return ErrClosed
		}
	}
	// Keep the incomplete frame; copy since data may alias the loop's shared buffer.
	s.partial = append(s.partial[:0], data...)
	return nil
}

// writeRaw writes one masked frame on the raw descriptor (small control-sized frames only).
func (s *Socket) writeRaw(op byte, payload []byte) error {
	if len(payload) > 125 {
		return fmt.Errorf("%w: %d-byte control answer", ErrFrame, len(payload))
	}
	var b [2 + 4 + 125]byte
	b[0], b[1] = 0x80|op, 0x80|byte(len(payload))
	copy(b[2:6], s.mask[:])
	for i, x := range payload {
		b[6+i] = x ^ s.mask[i&3]
	}
	if _, err := unix.Write(s.fd, b[:6+len(payload)]); err != nil {
		return fmt.Errorf("loadgen: write: %w", err)
	}
	return nil
}

// shutdownFD (with s.rmu held) shuts the raw socket down; its loop sees the end and releases
// the descriptor.
func (s *Socket) shutdownFD() {
	if fd := s.fd; fd >= 0 {
		_ = unix.Shutdown(fd, unix.SHUT_RDWR)
	}
}

// releaseFD closes the raw descriptor once the loops have stopped.
func (s *Socket) releaseFD() {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.fd >= 0 {
		_ = unix.Close(s.fd)
		s.fd = -1
	}
}
