"use strict";
// @pulumi/pulumi requires the TypeScript compiler and npm's Arborist when it
// is loaded, for function serialization and code-path analysis that this
// program never uses: about 0.4 s of every program start. The SDK gets a
// stand-in for each that loads the real module on first use, so anything
// that does use them still works, only later.
const Module = require("module");
const path = require("path");

/** Modules the SDK loads eagerly and uses only inside functions. */
const DEFERRED = ["typescript", "@npmcli/arborist"];

/**
 * A stand-in for a module that calls `load` on the first use of any member.
 * It answers `__esModule` itself, with true, so that TypeScript's
 * `__importStar`/`__importDefault` return it as it is instead of copying its
 * keys (which would load the module at once); `default` then gives what those
 * helpers would have made of the real module.
 * @param {() => any} load
 */
function lazyModule(load) {
  /** @type {any} */
  let real;
  const mod = () => (real ??= load());
  return new Proxy(Object.create(null), {
    get(_, key) {
      if (key === "__esModule") return true;
      if (key === "default") return mod() && mod().__esModule ? mod().default : mod();
      return Reflect.get(mod(), key);
    },
    has: (_, key) => key === "__esModule" || key === "default" || Reflect.has(mod(), key),
    ownKeys: () => Reflect.ownKeys(mod()),
    getOwnPropertyDescriptor(_, key) {
      const d = Reflect.getOwnPropertyDescriptor(mod(), key);
      return d && { ...d, configurable: true };
    },
  });
}

/**
 * Gives requests for DEFERRED modules made by files of the SDK at `sdkDir`
 * a stand-in, unless the real module is already loaded. Everyone else gets
 * the real module. A module that is not installed is left alone (the SDK then
 * falls back or fails as it would have).
 * @param {string} sdkDir
 */
function deferSdkModules(sdkDir) {
  /** @type {Map<string, string>} request -> file */
  const files = new Map();
  for (const request of DEFERRED) {
    try {
      files.set(request, require.resolve(request, { paths: [sdkDir] }));
    } catch {
      // not installed
    }
  }
  /** @type {Map<string, any>} */
  const stands = new Map();
  const inside = sdkDir + path.sep;
  const M = /** @type {any} */ (Module);
  const load = M._load;
  M._load = function (/** @type {string} */ request, /** @type {any} */ parent, /** @type {boolean} */ isMain) {
    const file = files.get(request);
    if (file && parent?.filename?.startsWith(inside) && !require.cache[file]) {
      if (!stands.has(file)) stands.set(file, lazyModule(() => require(file)));
      return stands.get(file);
    }
    return load.call(this, request, parent, isMain);
  };
}

module.exports = { deferSdkModules, lazyModule, DEFERRED };
