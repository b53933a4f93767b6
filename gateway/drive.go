package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/sessions"
)

// Google Drive documents (--drive, session mode): a socket watches a file it can read with
// its own Google token; one shared poller (package drive) finds changes and they reach the
// room drive:{fileId} of the socket's org as drive.file.changed {fileId, version}.

// Socket events of the Drive feature.
const (
	EventDriveWatch   = "drive.watch"
	EventDriveUnwatch = "drive.unwatch"
	EventDriveList    = "drive.list"
	EventDriveChanged = "drive.file.changed"
	EventDriveLost    = "drive.watch.lost"
)

func driveRoom(fileID string) string { return "drive:" + fileID }

// newDrive starts the shared poller when --drive is on.
func (g *Gateway) newDrive(cfg Config, opts Options) error {
	if !cfg.Drive {
		return nil
	}
	if cfg.Auth != "session" {
		return errors.New("--drive needs --auth session (each user's own Google token reads their files)")
	}
	dc := drive.Config{
		NewService: opts.DriveService,
		Changed:    g.driveChanged,
		Lost:       g.driveLost,
		IsRevoked: func(err error) bool {
			return errors.Is(err, sessions.ErrSessionEnded) || errors.Is(err, sessions.ErrNotLoggedIn) || errors.Is(err, sessions.ErrNoSession)
		},
		Logger: g.log,

		MinInterval:     cfg.DrivePollInterval,
		MaxInterval:     cfg.DrivePollMaxInterval,
		RecheckInterval: cfg.DriveRecheckInterval,
		BackoffMax:      cfg.DriveBackoffMax,
		MetaTTL:         cfg.DriveMetaCache,
		ListTTL:         cfg.DriveListCache,
	}
	if dc.NewService == nil && cfg.DriveEndpoint != "" { // Options.DriveService (tests) wins
		dc.NewService = drive.EndpointService(driveEndpointURL(cfg.DriveEndpoint), nil)
	}
	// With Redis of any kind the nodes share the feeds' leases (one node polls each feed);
	// every key of a feed carries its hash tag, so a Redis Cluster works as well.
	if ra, ok := g.sio.Adapter().(interface{ NodeID() string }); ok && cfg.anyRedis() {
		rdb, err := g.redisClient()
		if err != nil {
			return err
		}
		dc.Redis, dc.NodeID = rdb, ra.NodeID()
	}
	w, err := drive.New(context.Background(), dc)
	if err != nil {
		return fmt.Errorf("drive: %w", err)
	}
	g.drive = w
	return nil
}

// driveEndpointURL is --drive-endpoint as the Drive client wants it: a base path ending in /.
func driveEndpointURL(e string) string {
	if !strings.HasSuffix(e, "/") {
		e += "/"
	}
	return e
}

// driveChanged broadcasts a new version to the file's room in the watching org, through
// the adapter (every node, logged for recovery).
func (g *Gateway) driveChanged(scope, fileID string, version int64) {
	b := &namespaces.Broadcast{Nsp: scope, Rooms: []string{driveRoom(fileID)}, Event: EventDriveChanged,
		Args: []any{map[string]any{"fileId": fileID, "version": version}}}
	if err := g.sio.Broadcast(b); err != nil {
		g.log.Warn("drive change not broadcast", "nsp", scope, "err", err)
	}
}

// driveLost tells a socket its watch ended (grant revoked, access lost).
func (g *Gateway) driveLost(watcherID, fileID string, _ error) {
	nsp, sid := splitWatcher(watcherID)
	ns := g.sio.Namespace(nsp)
	if ns == nil {
		return
	}
	if s := ns.Socket(sid); s != nil {
		s.Leave(driveRoom(fileID))
		_ = s.Emit(EventDriveLost, map[string]any{"fileId": fileID})
	}
}

func watcherOf(s *namespaces.Socket) string { return s.Namespace() + "|" + s.ID() }

func splitWatcher(w string) (nsp, sid string) {
	for i := len(w) - 1; i >= 0; i-- {
		if w[i] == '|' {
			return w[:i], w[i+1:]
		}
	}
	return "", w
}

// sessionTokens is the socket's session as an oauth2.TokenSource: refreshed (and written
// back) by the session manager.
type sessionTokens struct {
	m      *sessions.Manager
	header http.Header
}

func (t sessionTokens) Token() (*oauth2.Token, error) {
	sess, err := t.m.FromRequest(&http.Request{Header: t.header})
	if err != nil {
		return nil, err
	}
	return t.m.Token(context.Background(), sess)
}

// onDriveEvent handles drive.watch / drive.unwatch / drive.list; it reports whether the
// event was one of them.
func (g *Gateway) onDriveEvent(s *namespaces.Socket, a *admission, event string, args []any, reply func(any)) bool {
	switch event {
	case EventDriveWatch, EventDriveUnwatch, EventDriveList:
	default:
		return false
	}
	if g.drive == nil || a.session == "" {
		reply(map[string]any{"ok": false, "error": "unavailable"})
		return true
	}
	user := drive.User{Key: a.session, Tokens: sessionTokens{g.sessions, s.Handshake().Header}}
	switch event {
	case EventDriveList:
		files, err := g.drive.List(s.Context(), user)
		if err != nil {
			reply(map[string]any{"ok": false, "error": drive.Code(err)})
			return true
		}
		reply(map[string]any{"ok": true, "files": files}) // the user's own data, to this socket only
	default:
		fileID := fileArg(args)
		if fileID == "" {
			reply(map[string]any{"ok": false, "error": "malformed"})
			return true
		}
		if event == EventDriveUnwatch {
			g.drive.Unwatch(watcherOf(s), fileID)
			s.Leave(driveRoom(fileID))
			reply(map[string]any{"ok": true})
			return true
		}
		version, err := g.drive.Watch(s.Context(), user, drive.Sub{Watcher: watcherOf(s), Scope: s.Namespace()}, fileID)
		if err != nil {
			reply(map[string]any{"ok": false, "error": drive.Code(err)})
			return true
		}
		s.Join(driveRoom(fileID))
		reply(map[string]any{"ok": true, "version": version})
	}
	return true
}

// fileArg reads {fileId} (or a bare string) from a drive event.
func fileArg(args []any) string {
	if len(args) == 0 {
		return ""
	}
	switch v := args[0].(type) {
	case string:
		return v
	case map[string]any:
		id, _ := v["fileId"].(string)
		return id
	}
	return ""
}

// recoverRoom keeps a recovering socket's rooms except its Drive watches: access to a file
// is checked with the user's token at watch time and may have been lost while the socket
// was away, so the socket is told its watch ended and must watch again.
func (g *Gateway) recoverRoom(s *namespaces.Socket, room string) bool {
	fileID, isDrive := strings.CutPrefix(room, "drive:")
	if !isDrive {
		return true
	}
	_ = s.Emit(EventDriveLost, map[string]any{"fileId": fileID})
	return false
}
