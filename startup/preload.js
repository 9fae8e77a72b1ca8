"use strict";
// What the Pulumi program process loads before anything else (Pulumi.yaml:
// runtime.options.nodeargs). Together these take about 0.6 s off each
// program start, 1.2 s off each `pulumi up`; see README, Benchmarks.
const path = require("path");
const { deferSdkModules } = require("./defer-sdk-modules");
const { registerTypeScript } = require("./transpile-ts");

const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [path.resolve(__dirname, "..")] }));
deferSdkModules(sdkDir);
registerTypeScript(sdkDir);
