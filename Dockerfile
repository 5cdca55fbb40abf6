# standin in a container: `standin conform` (the IdP gate) and the rest.
#
#   docker build -t standin .
#   docker run --rm -v "$PWD/ci:/ci" -e BRAND_CLIENT_SECRET standin \
#     conform --profile /ci/brand-idp.toml --junit /ci/idp-gate.xml
#
# --build-arg WITH_CHROMIUM=true adds Debian's chromium and chromium-driver
# for logins that need a real browser.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin standin

FROM debian:bookworm-slim
ARG WITH_CHROMIUM=false
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && if [ "$WITH_CHROMIUM" = "true" ]; then \
      apt-get install -y --no-install-recommends chromium chromium-driver; \
    fi \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/standin /usr/local/bin/standin
USER nobody
ENTRYPOINT ["standin"]
