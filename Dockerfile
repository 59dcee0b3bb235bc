# jitsi-gate container image: one static binary on distroless, non-root.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t jitsi-gate .
#   docker run --rm -p 8080:8080 \
#     -v "$PWD/config.yaml:/etc/jitsi-gate/config.yaml:ro" \
#     -e JWT_APP_SECRET -e SESSION_SECRET jitsi-gate
#
# Configuration comes from the mounted file /etc/jitsi-gate/config.yaml and
# the ${VAR} references in it (environment, e.g. docker-jitsi-meet's .env).
# Inside a container set server.listen: "0.0.0.0:8080" (the default
# 127.0.0.1:8080 is not reachable from other containers).
#
# Base images are pinned by tag, not by digest: the digests could not be
# verified from the machine this file was written on (no registry access),
# and an unverified digest is worse than none. To pin them, resolve the
# digests yourself and append @sha256:...:
#   docker buildx imagetools inspect golang:1.26-bookworm
#   docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot
#
# No Docker engine runs in CI: test/build-static.sh runs the same go build
# command (a test keeps the two lines identical), checks that the binary is
# static and runs `jitsi-gate healthcheck` against a running instance.

FROM golang:1.26-bookworm AS build
WORKDIR /src

# Modules first: this layer is reused as long as go.mod/go.sum do not change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
ARG VERSION=dev
# OUT is only set in this build stage; test/build-static.sh sets its own.
ENV OUT=/out
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o "${OUT}/jitsi-gate" ./cmd/jitsi-gate

# distroless/static: CA certificates (for https to OIDC providers and
# ldaps://), tzdata, /etc/passwd with the nonroot user (65532); no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/jitsi-gate /jitsi-gate
USER nonroot:nonroot
EXPOSE 8080
# serve and healthcheck both read this file when -config is not given, so
# the HEALTHCHECK probes the port of server.listen in the mounted config.
ENV JITSI_GATE_CONFIG=/etc/jitsi-gate/config.yaml
# The binary is its own health probe (there is no curl or shell in the
# image); /healthz is also served at the root when public_url has a path.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/jitsi-gate", "healthcheck"]
ENTRYPOINT ["/jitsi-gate"]
CMD ["serve", "-config", "/etc/jitsi-gate/config.yaml"]
