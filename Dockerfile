# syntax=docker/dockerfile:1
#
# One image for the four apps: it holds dist/apps/{orders,inventory,payments,notifications}/main.js
# (and dist/apps/broker-access/main.js, which writes the broker's users: docker-compose.yml)
# and the production node_modules. The default command runs orders; run another app with
#   docker run --rm -p 3002:3002 shop-app node dist/apps/inventory/main.js
# (docker-compose.yml sets `command:` per service). Settings come from the environment (README).
#
#   docker build -t shop-app .

ARG NODE_IMAGE=node:20-bookworm-slim

# Every dependency (dev too): Nx, webpack and SWC build the apps (tools/build/webpack.config.js).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund

# The apps into dist/apps/<app>/main.js. webpack bundles the workspace's libraries and leaves node_modules external.
FROM deps AS build
ENV NX_DAEMON=false \
    NX_NO_CLOUD=true \
    NX_TUI=false
COPY . .
RUN npx nx run-many -t build -p orders inventory payments notifications bridge console broker-access --outputStyle=static

# Only what package.json lists under "dependencies". No install script is needed at run time
# (the only one among them is swagger-ui-dist's telemetry).
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only for the app's user: the apps write nothing to disk.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Mount points of the broker credentials' volumes (docker-compose.yml): owned by the app's user, so that
# a new volume is too and broker-access (run as that user) can keep the passwords there.
RUN mkdir -p /secrets/admin /secrets/orders /secrets/inventory /secrets/payments /secrets/notifications /secrets/bridge \
    && chown -R node:node /secrets
USER node
EXPOSE 3001 3002 3003 3004 3005 3006
# Graceful shutdown (stop consuming, finish in-flight handlers, close) runs on SIGTERM.
STOPSIGNAL SIGTERM
CMD ["node", "dist/apps/orders/main.js"]
