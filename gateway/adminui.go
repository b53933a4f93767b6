package gateway

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/syncgate/syncgate/adminui"
)

// newAdminUI builds the Socket.IO Admin UI endpoint of the admin listener (package adminui):
// it inspects this node's sockets; without --admin-ui-user its /admin refuses everyone.
func (g *Gateway) newAdminUI(cfg Config) error {
	serverID := "" // adminui's default: hostname#pid
	if ra, ok := g.sio.Adapter().(interface{ NodeID() string }); ok {
		serverID = ra.NodeID() // the node ID of the status page (one Redis or a cluster)
	}
	ui, err := adminui.New(adminui.Options{
		Public:       g.sio,
		User:         cfg.AdminUIUser,
		PasswordHash: cfg.AdminUIPasswordHash,
		Origins:      cfg.AdminUIOrigins,
		ServerID:     serverID,
		AllowJoin:    g.adminUIAllowJoin,
		Emit:         g.adminUIEmit,
		ReadOnly:     cfg.AdminUIReadOnly,
		Logger:       g.log,
	})
	if err != nil {
		return fmt.Errorf("gateway: admin UI: %w", err)
	}
	g.adminUI = ui
	return nil
}

// adminUIAllowJoin lets the Admin UI put sockets of an org namespace in rooms the trigger
// file declares, as a socket's own subscribe would.
func (g *Gateway) adminUIAllowJoin(nsp, room string) bool {
	_, ok := g.orgOf(nsp)
	return ok && room != "" && g.triggers.Load().RoomAllowed(room)
}

// adminUIEmit is the Admin UI's emit, held to the publish API's rules: one org namespace,
// named exactly; an event the trigger file or --publish-events knows; one object of IDs;
// a declared room or none. It goes to that org's sockets on every node.
func (g *Gateway) adminUIEmit(nsp, room, event string, args []any) error {
	org, ok := g.orgOf(nsp)
	if !ok {
		return errors.New("not an org namespace")
	}
	if len(args) > 1 {
		return errors.New("want at most one argument, an object of IDs")
	}
	var data any
	if len(args) == 1 {
		data = args[0]
	}
	orgJSON, _ := json.Marshal(org)
	b, err := g.validatePublish(g.triggers.Load(), publishRequest{Org: orgJSON, Event: event, Data: data, Room: room})
	if err != nil {
		return err
	}
	if err := g.sio.Broadcast(b); err != nil {
		return fmt.Errorf("broadcast: %w", err)
	}
	g.metrics.eventsFired.WithLabelValues(b.Event).Inc()
	return nil
}
