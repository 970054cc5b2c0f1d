# syntax=docker/dockerfile:1
# Multi-stage build of both binaries. The dependency layer is cached separately
# from the source: editing the code does not recompile the dependencies.

FROM rust:1-slim-bookworm AS chef
RUN cargo install cargo-chef --locked
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json -p portal -p bot
COPY . .
RUN cargo build --release --locked -p portal -p bot

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app guildhall \
 && mkdir -p /app/data && chown guildhall /app/data
WORKDIR /app
COPY --from=builder /src/target/release/portal /src/target/release/bot /usr/local/bin/
USER guildhall
ENV PORTAL_BIND=0.0.0.0:8000 \
    DATABASE_URL=sqlite:///app/data/guildhall.db
EXPOSE 8000
CMD ["portal"]
