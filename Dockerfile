# Production image of the Conduit server (API and purge worker share it; the command picks the role).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY packages ./packages
COPY test/package.json ./test/package.json
RUN npm ci --no-audit --no-fund && npx tsc -b packages/server && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages/shared/package.json ./packages/shared/package.json
COPY --from=build /app/packages/shared/dist ./packages/shared/dist
COPY --from=build /app/packages/server/package.json ./packages/server/package.json
COPY --from=build /app/packages/server/dist ./packages/server/dist
# The Redis Lua scripts are read from src at run time (src/redis/script-files.ts says why).
COPY --from=build /app/packages/server/src/redis/scripts ./packages/server/src/redis/scripts
USER node
EXPOSE 8080
ENTRYPOINT ["node", "packages/server/dist/main.js"]
CMD ["api"]
