#!/usr/bin/env node
// @ts-check
// Builds the package into dist/: components/*.ts compiled and type checked
// with .d.ts declarations (tsconfig.build.json), and every other file of
// components/ (the host script, the listener check) copied as it is, to the
// same place relative to the compiled modules: they find them next to
// themselves (`__dirname`), in this repository and in a consumer's
// node_modules alike.
//
// npm runs it as `prepare`: on `npm pack` and `npm publish`, and when a
// program installs the package from a git URL (npm then installs the
// devDependencies into the clone first). This repository's .npmrc says
// ignore-scripts=true, so here use `npm run package` (npm pack with scripts
// on), or `npm run build:dist` then `npm pack`.
"use strict";
const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");

const say = (/** @type {string} */ m) => process.stderr.write(`build-dist: ${m}\n`);
/**
 * @param {string} m
 * @returns {never}
 */
function err(m) {
    say(`error: ${m}`);
    process.exit(1);
}

const root = path.join(__dirname, "..");
const src = path.join(root, "components");
const dist = path.join(root, "dist");

/**
 * Every file under dir that tsc does not emit (anything but .ts), relative to dir.
 * @param {string} dir
 * @returns {string[]}
 */
function assets(dir, rel = "") {
    /** @type {string[]} */
    const out = [];
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
        const r = path.join(rel, e.name);
        if (e.isDirectory()) out.push(...assets(dir, r));
        else if (e.isFile() && !e.name.endsWith(".ts")) out.push(r);
    }
    return out;
}

function main() {
    // A file removed from components/ must not live on in the tarball.
    fs.rmSync(dist, { recursive: true, force: true });
    /** @type {string} */
    let tsc;
    try {
        tsc = require.resolve("typescript/bin/tsc", { paths: [root] });
    } catch {
        err("typescript is not installed: run npm install (the build needs the devDependencies)");
    }
    const r = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit" });
    if (r.status !== 0) err(`tsc -p tsconfig.build.json failed (${r.status ?? r.signal})`);
    const copied = assets(src);
    for (const f of copied) {
        fs.mkdirSync(path.dirname(path.join(dist, f)), { recursive: true });
        // COPYFILE_EXCL: a compiled module of the same name would be a mistake, not something to overwrite.
        fs.copyFileSync(path.join(src, f), path.join(dist, f), fs.constants.COPYFILE_EXCL);
        fs.chmodSync(path.join(dist, f), fs.statSync(path.join(src, f)).mode & 0o777);
    }
    say(`dist/ built; copied ${copied.map(f => `components/${f}`).join(", ")}`);
}

main();
