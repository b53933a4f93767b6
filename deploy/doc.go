// Package deploy holds no code: its tests check the deployment files beside it (the Grafana
// dashboard, the Prometheus rules, the Helm chart) against a real gateway and the real tools.
//
// The dashboard and the rules may name only metrics a running gateway exports (scraped after
// traffic, with Redis); promtool checks and unit-tests the rules; a real Prometheus scrapes a
// gateway, evaluates every rule and answers every dashboard query; helm lints the chart and
// renders it for each values file in deploy/helm/syncgate/ci/. helm, promtool and prometheus
// come from ./scripts/test.sh (testenv.ToolsDir); without them those tests are skipped,
// except in CI.
package deploy
