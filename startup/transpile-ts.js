"use strict";
// Loads the program's TypeScript with swc alone. ts-node, what Pulumi uses
// with `typescript: true`, loads the TypeScript compiler (about 0.2 s) to
// read tsconfig.json even when swc does the transpiling, and does so in each
// of the two program runs of a `pulumi up`. Types are checked by
// `npm run build` and `npm test` (tsconfig.check.json), not here.
const fs = require("fs");
const path = require("path");

/**
 * swc options equal to tsconfig.json's compilerOptions (ES2022, CommonJS,
 * esModuleInterop, strict): test/unit/startup.test.ts holds them together.
 * @param {string} filename
 * @returns {import("@swc/core").Options}
 */
function swcOptions(filename) {
  return {
    filename,
    swcrc: false,
    sourceMaps: true,
    module: { type: "commonjs", strictMode: true, noInterop: false },
    jsc: {
      parser: { syntax: "typescript" },
      target: "es2022",
      keepClassNames: true,
      transform: { useDefineForClassFields: true },
    },
  };
}

/**
 * Makes `require` load `.ts` files through swc, with source maps so that
 * stack traces name lines of the TypeScript source.
 * @param {string} sdkDir where @pulumi/pulumi is: its source-map-support
 *   instance is the one that formats stack traces
 */
function registerTypeScript(sdkDir) {
  const swc = require("@swc/core");
  /** @type {Map<string, string>} */
  const compiled = new Map();
  require(require.resolve("source-map-support", { paths: [sdkDir] })).install({
    environment: "node",
    retrieveFile: (/** @type {string} */ file) => compiled.get(file) ?? null,
  });
  require.extensions[".ts"] = function (module, filename) {
    if (filename.split(path.sep).includes("node_modules")) {
      throw new Error(`${filename}: TypeScript inside node_modules is not transpiled; the package must ship JavaScript`);
    }
    const { code, map } = swc.transformSync(fs.readFileSync(filename, "utf8"), swcOptions(filename));
    const out = `${code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(map ?? "").toString("base64")}\n`;
    compiled.set(filename, out);
    /** @type {any} */ (module)._compile(out, filename);
  };
}

module.exports = { registerTypeScript, swcOptions };
