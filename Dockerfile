# Twostep's container image: the `twostep` binary on distroless, as a non-root user.
#
#   docker build -t twostep .
#   docker run -d --name twostep -p 127.0.0.1:8080:8080 -v twostep-data:/var/lib/twostep \
#       -e TWOSTEP_PUBLIC_URL=https://login.example.com twostep
#
# With PostgreSQL: deploy/compose.yaml. The operator's guide: docs/deploy.md.

# ---- build: the release binary (Cargo.lock as committed; the profile is in Cargo.toml) ----
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS build
# OpenSSL's headers for crates that link libssl (webauthn-rs); the rust image usually has
# them already, this makes it explicit.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The caches keep the registry and the target directory between builds of this image on
# one machine; the binary is copied out of the cached target in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin twostep \
 && install -D -m 0755 target/release/twostep /out/usr/local/bin/twostep \
 && install -d -m 0700 /out/var/lib/twostep

# ---- run: glibc, libssl3, CA certificates and tzdata from distroless; no shell, no package
# manager (the cc image carries libssl3 and libgcc; base-nossl would not) ----
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/usr/local/bin/twostep /usr/local/bin/twostep
# The state folder (SQLite database and, unless one is mounted, the secret key created at
# first start) belongs to the image's non-root user, 65532.
COPY --from=build --chown=65532:65532 /out/var/lib/twostep /var/lib/twostep
WORKDIR /var/lib/twostep
VOLUME /var/lib/twostep
ENV TWOSTEP_LISTEN=0.0.0.0:8080 \
    TWOSTEP_DATABASE_URL=sqlite:///var/lib/twostep/twostep.db \
    TWOSTEP_SECRET_KEY_FILE=/var/lib/twostep/twostep.key \
    TWOSTEP_LOG_FORMAT=json
USER 65532:65532
EXPOSE 8080
# The binary checks itself: distroless has no curl. /healthz answers while the process
# serves; /readyz (database reachable) is for the load balancer, not for restarts.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/twostep", "healthcheck", "--url", "http://127.0.0.1:8080/healthz", "--timeout", "3s"]
ENTRYPOINT ["/usr/local/bin/twostep"]
CMD ["serve"]
