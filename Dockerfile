# syntax=docker/dockerfile:1
# Build: docker build -t liza .
# Run:   docker run -p 5000:5000 -e TWILIO_AUTH_TOKEN=… -e LIZA_PUBLIC_URL=https://… -v liza-data:/app/data liza

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY engine engine
COPY migrations migrations
COPY schemas schemas
RUN cargo build --release --locked --bin liza

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin liza
WORKDIR /app
COPY --from=build /src/target/release/liza /usr/local/bin/liza
COPY flows flows
COPY locales locales
COPY templates templates
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
