package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// pollConn is the long-polling transport of one socket.
type pollConn struct {
	url string // .../?EIO=4&transport=polling&sid=SID
}

// maxPollBody bounds one polling answer.
const maxPollBody = 1 << 20

// connectPolling: handshake GET, CONNECT by POST, GETs until the ack, then a long-poll loop.
func (s *Socket) connectPolling(ctx context.Context) error {
	base := "http://" + s.addr + s.f.cfg.Path + "?EIO=4&transport=polling"
	body, err := s.pollGET(ctx, base)
	if err != nil {
		return fmt.Errorf("loadgen: polling handshake: %w", err)
	}
	if len(body) == 0 || body[0] != '0' {
		return fmt.Errorf("loadgen: expected an open packet, got %q", trunc(body))
	}
	var open struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body[1:], &open); err != nil || open.SID == "" {
		return fmt.Errorf("loadgen: open packet %q: no sid (%v)", trunc(body), err)
	}
	pc := &pollConn{url: base + "&sid=" + open.SID}
	if err := s.pollPOST(ctx, pc.url, s.connectPacket()); err != nil {
		return fmt.Errorf("loadgen: polling CONNECT: %w", err)
	}
	ack, refused := []byte("40"+s.nsp()+","), []byte("44"+s.nsp()+",")
	for {
		body, err := s.pollGET(ctx, pc.url)
		if err != nil {
			return fmt.Errorf("%w: %w", errAwaitingAck, err)
		}
		done := false
		for p := range bytes.SplitSeq(body, []byte{0x1e}) {
			switch {
			case bytes.HasPrefix(p, ack):
				done = true
			case bytes.HasPrefix(p, refused):
				return fmt.Errorf("%w: %s", ErrRefused, p[len(refused):])
			case done:
				s.handle(p)
			case len(p) == 1 && p[0] == '2':
				if err := s.pollPOST(ctx, pc.url, "3"); err != nil {
					return err
				}
			}
		}
		if done {
			s.poll = pc
			s.f.wg.Add(1)
			go s.pollLoop()
			return nil
		}
	}
}

// pollLoop keeps one GET pending, handles what it brings, and answers pings by POST.
func (s *Socket) pollLoop() {
	defer s.f.wg.Done()
	ctx := s.f.ctx
	for {
		body, err := s.pollGET(ctx, s.poll.url)
		if err != nil {
			s.end(err)
			return
		}
		for p := range bytes.SplitSeq(body, []byte{0x1e}) {
			switch s.handle(p) {
			case actPong:
				if err := s.pollPOST(ctx, s.poll.url, "3"); err != nil {
					s.end(err)
					return
				}
			case actClose:
				s.end(ErrClosed)
				return
			}
		}
	}
}

func (s *Socket) pollGET(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return s.pollDo(req)
}

func (s *Socket) pollPOST(ctx context.Context, url, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	_, err = s.pollDo(req)
	return err
}

func (s *Socket) pollDo(req *http.Request) ([]byte, error) {
	resp, err := s.f.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPollBody))
	if err != nil {
		return nil, fmt.Errorf("read %s answer: %w", req.Method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s: %q", req.Method, resp.Status, trunc(body))
	}
	return body, nil
}
