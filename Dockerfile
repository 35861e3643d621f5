# syntax=docker/dockerfile:1
# Build: docker build --build-arg LIZA_GIT_COMMIT=$(git rev-parse --short=12 HEAD) -t liza .
# Run:   docker run -p 5000:5000 -e TWILIO_AUTH_TOKEN=… -e LIZA_PUBLIC_URL=https://… -v liza-data:/app/data liza

FROM rust:1.95-bookworm AS build
WORKDIR /src
# The dependencies first, in a layer of their own: the real manifests and lock file with empty
# crates, so that changing Liza's sources does not compile them again. `cargo clean -p` then
# drops the empty crates' artifacts (their timestamps could pass for the real sources').
COPY Cargo.toml Cargo.lock ./
COPY engine/model/Cargo.toml engine/model/Cargo.toml
COPY engine/core/Cargo.toml engine/core/Cargo.toml
COPY engine/store/Cargo.toml engine/store/Cargo.toml
COPY engine/service/Cargo.toml engine/service/Cargo.toml
COPY engine/web/Cargo.toml engine/web/Cargo.toml
COPY engine/tools/Cargo.toml engine/tools/Cargo.toml
COPY engine/loadtest/Cargo.toml engine/loadtest/Cargo.toml
COPY engine/outbound/Cargo.toml engine/outbound/Cargo.toml
COPY engine/liza/Cargo.toml engine/liza/Cargo.toml
RUN for crate in model core store service web tools loadtest outbound liza; do \
      mkdir -p engine/$crate/src && touch engine/$crate/src/lib.rs; \
    done \
 && echo 'fn main() {}' > engine/liza/src/main.rs \
 && echo 'fn main() {}' > engine/liza/build.rs \
 && cargo build --release --locked --bin liza \
 && cargo clean --release --locked -p liza -p liza-model -p liza-core -p liza-store \
      -p liza-service -p liza-web -p liza-tools -p liza-loadtest -p liza-outbound \
 && rm -rf engine
# The sources and every file compiled into the binary: include_str! (schemas/, templates/)
# and sqlx::migrate! (migrations/). .ci/docker-build-stage.sh builds from exactly these COPY
# lines in CI, so a missing one fails there.
COPY engine engine
COPY migrations migrations
COPY schemas schemas
COPY templates templates
# The commit `liza --version` names (the build context has no .git):
#   docker build --build-arg LIZA_GIT_COMMIT=$(git rev-parse --short=12 HEAD) -t liza .
ARG LIZA_GIT_COMMIT=unknown
RUN cargo build --release --locked --bin liza

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin liza
WORKDIR /app
COPY --from=build /src/target/release/liza /usr/local/bin/liza
# Flows and locales are read (and hot-reloaded) at run time; templates are compiled in.
COPY flows flows
COPY locales locales
RUN mkdir -p /app/data && chown -R liza:liza /app/data
USER liza
ENV LIZA_BIND=0.0.0.0:5000 \
    DATABASE_URL=sqlite:///app/data/liza.db \
    LIZA_FLOWS=/app/flows \
    LIZA_LOCALES=/app/locales \
    RUST_LOG=info
EXPOSE 5000
VOLUME ["/app/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:5000/health || exit 1
ENTRYPOINT ["liza"]
CMD ["serve"]
