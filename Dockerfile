# syntax=docker/dockerfile:1
#
# syncgate as a static binary in a small image, running as a non-root user.
#
#   docker build -t syncgate .
#   docker run --rm -p 8080:8080 syncgate --demo          # the single-node demo
#   docker run --rm -p 8080:8080 -v $PWD/triggers.yaml:/etc/syncgate/triggers.yaml:ro \
#     -e SYNCGATE_UPSTREAM=http://api:9000/v1 -e SYNCGATE_TRIGGERS=/etc/syncgate/triggers.yaml syncgate
#
# docker-compose.yml builds it for its two gateway nodes and for `syncgate demo-api`.

# ---- build ------------------------------------------------------------------------------------
FROM golang:1.26 AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# CGO_ENABLED=0: a static binary that needs no libc in the runtime image.
# -trimpath: no build-machine paths in the binary; -s -w: no symbol table or DWARF.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/syncgate ./cmd/syncgate

# ---- run --------------------------------------------------------------------------------------
# Alpine rather than distroless/static: docker-compose.yml's health checks run an HTTP client
# inside the container (busybox wget against /readyz and /healthz), and distroless has none
# (the binary has no probe subcommand). The price is busybox and apk, about 8 MB; the process
# still runs as an unprivileged user with no capabilities (see docker-compose.yml).
FROM alpine:3.22
# ca-certificates: https:// upstreams and rediss:// Redis.
RUN apk add --no-cache ca-certificates \
 && addgroup -S -g 10001 syncgate \
 && adduser -S -D -H -u 10001 -G syncgate -s /sbin/nologin syncgate
COPY --from=build /out/syncgate /usr/local/bin/syncgate
# The working directory holds the default session store (--auth session:
# bolt:syncgate-sessions.db); mount a volume there to keep sessions across restarts.
RUN mkdir -p /var/lib/syncgate && chown 10001:10001 /var/lib/syncgate
WORKDIR /var/lib/syncgate
VOLUME /var/lib/syncgate
# A numeric user, so that runtimes enforcing runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/syncgate"]
