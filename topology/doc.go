// Package topology holds only tests: they run the deployment of docker-compose.yml without
// Docker (one redis-server, the demo API, two syncgate processes, Debian's nginx with
// deploy/nginx/syncgate.conf) and drive it with the official socket.io-client.
//
// The tests read docker-compose.yml for what to run: the nodes' environment, the demo API's
// command, the health-check URLs, and the nginx files mounted into the nginx container. Service
// host names (redis:6379, demo-api:9000, node1:8080, ...) become loopback addresses and mounted
// paths become the repository's files, so a change to the compose file is a change to what the
// tests run. `docker-compose config -q` checks the file itself.
//
// Missing tools fail the tests (run ./scripts/test.sh, which installs redis-server, nginx,
// node and docker-compose). Only the docker-compose check skips, and only outside CI (CI unset).
package topology
