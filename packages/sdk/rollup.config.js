// Bundles the SDK's declarations into dist/index.bundle.d.ts for the packed package
// (publishConfig): the coordinator's `AppRouter` is inlined, since users outside this repo do
// not have @gigafactory/coordinator; @gigafactory/schema stays an import, a real dependency.
import { fileURLToPath } from "node:url";
import { dts } from "rollup-plugin-dts";

const COORDINATOR = "@gigafactory/coordinator";

/**
 * Reads the coordinator's built declarations (turbo builds it first, `^build`): its `types`
 * point at source, and rollup-plugin-dts bundles .d.ts files, not .ts.
 * @type {import("rollup").Plugin}
 */
const coordinatorDeclarations = {
  name: "coordinator-declarations",
  resolveId(source) {
    if (source !== COORDINATOR) return null;
    return fileURLToPath(import.meta.resolve(COORDINATOR)).replace(/\.js$/, ".d.ts");
  },
};

/** @type {import("rollup").RollupOptions} */
export default {
  input: "dist/index.d.ts",
  output: { file: "dist/index.bundle.d.ts", format: "es" },
  // workspace packages resolve outside node_modules, so they would be inlined too: keep schema an import
  external: ["@gigafactory/schema", /^node:/],
  plugins: [coordinatorDeclarations, dts({ tsconfig: "tsconfig.json" })],
};
