package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// clientFrom returns an HTTP client whose connections leave from the loopback address ip
// (any of 127.0.0.0/8 on Linux), so that nginx sees a different client address per ip.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			DialContext:       d.DialContext,
			DisableKeepAlives: true, // every request a new connection: stickiness must not ride on one
		},
	}
}

// pollingSession opens an Engine.IO v4 long-polling session at base and joins namespace nsp
// with cookie, in the three requests a polling client makes: handshake GET, POST of the
// Socket.IO CONNECT, GET of the answer. Behind a balancer that is not sticky, the second or
// third request reaches a node that never saw the session ("Session ID unknown").
// It returns the Engine.IO session ID.
func pollingSession(ctx context.Context, c *http.Client, base, nsp, cookie string) (string, error) {
	eio := base + "/socket.io/?EIO=4&transport=polling"
	status, body, err := send(ctx, c, http.MethodGet, eio, cookie, "")
	if err != nil || status != http.StatusOK || !strings.HasPrefix(body, "0") {
		return "", fmt.Errorf("handshake: %d %q %v", status, body, err)
	}
	var open struct {
		Sid string `json:"sid"`
	}
	if err := json.Unmarshal([]byte(body[1:]), &open); err != nil || open.Sid == "" {
		return "", fmt.Errorf("handshake answer %q: %v", body, err)
	}
	sidURL := eio + "&sid=" + url.QueryEscape(open.Sid)
	status, body, err = send(ctx, c, http.MethodPost, sidURL, cookie, "40"+nsp+",")
	if err != nil || status != http.StatusOK {
		return "", fmt.Errorf("POST CONNECT %s: %d %q %v", nsp, status, body, err)
	}
	status, body, err = send(ctx, c, http.MethodGet, sidURL, cookie, "")
	if err != nil || status != http.StatusOK {
		return "", fmt.Errorf("GET after CONNECT: %d %q %v", status, body, err)
	}
	if !strings.HasPrefix(body, "40"+nsp+",{") {
		return "", fmt.Errorf("GET after CONNECT %s: %q, want a CONNECT answer with a sid", nsp, body)
	}
	return open.Sid, nil
}

// ownerOf returns the index of the node that holds Engine.IO session sid, asking each node
// directly with a close packet: the owner answers 200 (and closes the session), the others
// 400 "Session ID unknown". Exactly one node must own it.
func ownerOf(ctx context.Context, nodes []string, sid string) (int, error) {
	owner := -1
	var answers []string
	for i, base := range nodes {
		u := base + "/socket.io/?EIO=4&transport=polling&sid=" + url.QueryEscape(sid)
		status, body, err := send(ctx, http.DefaultClient, http.MethodPost, u, "", "1")
		if err != nil {
			return -1, fmt.Errorf("close session on node %d: %w", i, err)
		}
		answers = append(answers, fmt.Sprintf("node %d: %d %q", i, status, body))
		switch status {
		case http.StatusOK:
			if owner >= 0 {
				return -1, fmt.Errorf("session %s on more than one node: %v", sid, answers)
			}
			owner = i
		case http.StatusBadRequest:
		default:
			return -1, fmt.Errorf("closing session %s: %v", sid, answers)
		}
	}
	if owner < 0 {
		return -1, fmt.Errorf("no node holds session %s: %v", sid, answers)
	}
	return owner, nil
}

// send makes one request and returns its status and body.
func send(ctx context.Context, c *http.Client, method, u, cookie, body string) (int, string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}
