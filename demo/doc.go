// Package demo is the built-in example behind `syncgate --demo`: an in-memory stand-in for the
// Zetkin platform API (NewAPI) and a demo page with the Socket.IO browser client (Page).
//
// The API checks access on every request, as the real platform does: a demo user, named by the
// cookie demo_user or by "Authorization: Bearer <name>", may read and change an organization only
// when its membership there has a non-null role. The page logs in through POST /demo/login,
// joins the namespace /org/{orgId} and re-fetches view 1 through /api whenever the gateway
// announces personview.addrow or personview.deleterow.
package demo
