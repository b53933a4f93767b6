package drive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lifetimes of shared keys.
const (
	tokenTTL = time.Hour      // a feed's page token after its last poll
	sentTTL  = 24 * time.Hour // a scope's last reported version of a file
)

// cluster is the Redis side: leases, page tokens, "hot" marks, the change
// channel and the per-scope claims. Keys of one feed share a hash tag.
type cluster struct {
	cfg     *Config
	rdb     redis.UniversalClient
	ps      *redis.PubSub
	channel string
	receive func(wireMsg)
	done    chan struct{}
}

// wireMsg is what nodes tell each other on the channel: the changes one
// feed showed, or a wake-up for a feed's holder.
type wireMsg struct {
	Node    string       `json:"n"`
	Feed    string       `json:"u"` // the feed's user key hash
	Changes []wireChange `json:"c,omitempty"`
	Wake    bool         `json:"w,omitempty"`
}

type wireChange struct {
	File    string `json:"f"`
	Version int64  `json:"v,omitempty"`
	Removed bool   `json:"r,omitempty"`
}

// tickScript renews or takes the lease (KEYS[1]) for ARGV[1] with expiry
// ARGV[2] ms, marks the feed hot (KEYS[2], ARGV[4] ms) when ARGV[3] is "1",
// and returns {held, hot}.
var tickScript = redis.NewScript(`
if ARGV[3] == '1' then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4]) end
local held = 0
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); held = 1
elseif cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2]); held = 1
end
return {held, redis.call('EXISTS', KEYS[2])}`)

// releaseScript deletes the lease KEYS[1] if ARGV[1] holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// saveScript stores the page token KEYS[2] = ARGV[2] (ARGV[3] ms) if
// ARGV[1] holds the lease KEYS[1]; it returns 1 if so.
var saveScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`)

// claimScript raises KEYS[1] to ARGV[1] (ARGV[2] ms) and returns 1 if the
// version is newer than the stored one.
var claimScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); return 1
end
return 0`)

// newCluster subscribes to the change channel and delivers what other
// nodes publish to receive, until ctx ends or close.
func newCluster(ctx context.Context, cfg *Config, receive func(wireMsg)) (*cluster, error) {
	c := &cluster{cfg: cfg, rdb: cfg.Redis, channel: cfg.RedisPrefix + "events", receive: receive, done: make(chan struct{})}
	c.ps = c.rdb.Subscribe(ctx, c.channel)
	if _, err := c.ps.Receive(ctx); err != nil { // the subscription is live before New returns
		_ = c.ps.Close()
		return nil, fmt.Errorf("drive: subscribe to %s: %w", c.channel, err)
	}
	go c.listen(ctx)
	return c, nil
}

func (c *cluster) listen(ctx context.Context) {
	defer close(c.done)
	ch := c.ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			var msg wireMsg
			if err := json.Unmarshal([]byte(m.Payload), &msg); err != nil || msg.Node == c.cfg.NodeID {
				continue
			}
			c.receive(msg)
		}
	}
}

func (c *cluster) close() error {
	err := c.ps.Close()
	<-c.done
	return err
}

func (c *cluster) key(feed, part string) string {
	return c.cfg.RedisPrefix + "feed:{" + feed + "}:" + part
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// tick renews or takes feed's lease and reports whether this node holds it
// and whether some node wants the feed polled at the adaptive interval.
func (c *cluster) tick(ctx context.Context, feed string, primary bool) (held, hot bool, err error) {
	p := "0"
	if primary {
		p = "1"
	}
	res, err := tickScript.Run(ctx, c.rdb, []string{c.key(feed, "lease"), c.key(feed, "hot")},
		c.cfg.NodeID, ms(c.cfg.LeaseTTL), p, ms(c.cfg.LeaseTTL)).Int64Slice()
	if err != nil {
		return false, false, fmt.Errorf("drive: lease tick: %w", err)
	}
	if len(res) != 2 {
		return false, false, errors.New("drive: lease tick: unexpected answer")
	}
	return res[0] == 1, res[1] == 1, nil
}

func (c *cluster) release(ctx context.Context, feed string) error {
	return releaseScript.Run(ctx, c.rdb, []string{c.key(feed, "lease")}, c.cfg.NodeID).Err()
}

// loadToken returns the feed's shared page token ("" if none).
func (c *cluster) loadToken(ctx context.Context, feed string) (string, error) {
	tok, err := c.rdb.Get(ctx, c.key(feed, "token")).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return tok, err
}

// saveToken stores tok if this node still holds the lease; it reports
// whether it does.
func (c *cluster) saveToken(ctx context.Context, feed, tok string) (bool, error) {
	n, err := saveScript.Run(ctx, c.rdb, []string{c.key(feed, "lease"), c.key(feed, "token")},
		c.cfg.NodeID, tok, ms(tokenTTL)).Int64()
	return n == 1, err
}

func (c *cluster) publish(ctx context.Context, msg wireMsg) error {
	msg.Node = c.cfg.NodeID
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return c.rdb.Publish(ctx, c.channel, b).Err()
}

// publishChanges shares one page of a feed with the other nodes.
func (c *cluster) publishChanges(ctx context.Context, feed string, cs []change) {
	msg := wireMsg{Feed: feed, Changes: make([]wireChange, len(cs))}
	for i, ch := range cs {
		msg.Changes[i] = wireChange{File: ch.file, Version: ch.version, Removed: ch.removed}
	}
	if err := c.publish(ctx, msg); err != nil {
		c.cfg.Logger.Warn("drive: publish changes", "err", err)
	}
}

// claim sets won[i] for the change events of evs that this node is first
// to report. On a Redis error it leaves won as it is (reporting twice beats
// not at all).
func (c *cluster) claim(ctx context.Context, evs []event, won []bool) {
	pipe := c.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(evs))
	for i, ev := range evs {
		if ev.lost {
			continue
		}
		sum := sha256.Sum256([]byte(ev.scope))
		key := c.cfg.RedisPrefix + "sent:{" + hex.EncodeToString(sum[:8]) + ":" + ev.file + "}"
		cmds[i] = claimScript.Eval(ctx, pipe, []string{key}, ev.version, ms(sentTTL))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		c.cfg.Logger.Warn("drive: claim changes", "err", err)
		return
	}
	for i, cmd := range cmds {
		if cmd != nil {
			n, err := cmd.Int64()
			won[i] = err != nil || n == 1
		}
	}
}
