import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/**
 * `pnpm dev` serves the app on its own port and proxies tRPC (HTTP and WebSocket) to the
 * coordinator named by GF_URL; the built files are served by the coordinator itself.
 */
const coordinator = process.env.GF_URL ?? "http://127.0.0.1:7700";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, target: "es2022" },
  server: {
    port: 5173,
    proxy: {
      // tRPC paths are `<router>.<procedure>` (batches join them with commas); artifact bytes are plain routes
      "^/(jobs|factory|profiles|artifacts|admin|dashboard)\\.": { target: coordinator },
      "^/artifacts/": { target: coordinator },
      "/ws": { target: coordinator.replace(/^http/, "ws"), ws: true, rewrite: () => "/" },
    },
  },
});
