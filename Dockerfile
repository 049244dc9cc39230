# The sdops app image: one image for every role (serve, worker, demo, migrate), chosen by
# the compose command. Node 24 runs the TypeScript sources natively (type stripping), so there
# is no build step and the SQL schema files under src/ ship as they are.
FROM node:24.21.0-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first so source edits reuse the cached npm layer. --omit=dev also leaves out the
# `node` package (the pinned Node for machines whose system Node is older): the image is Node 24.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force

COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./

# The embedded database (no DATABASE_URL) lives in /data, the one folder the unprivileged user may
# write (under /app, owned by root, it failed with EACCES); mount a volume there to keep it.
ENV SDOPS_DATA_DIR=/data
RUN mkdir /data && chown node:node /data
VOLUME /data

# Run as the image's unprivileged user; nothing is written under /app at runtime.
USER node
ENTRYPOINT ["node", "bin/sdops.js"]
CMD ["--help"]
