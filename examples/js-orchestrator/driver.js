#!/usr/bin/env node
'use strict';
// The driver of the JavaScript orchestrator: the conformance suite's driver protocol
// (version 1) on stdin and stdout, one JSON line per request and one per response.
//
//   pytest --orchestrator-command="node examples/js-orchestrator/driver.js" -n 2
//
// It writes nothing else on stdout; its diagnostics go to stderr, which the harness
// keeps. The `time` of every request is the orchestrator's "now" while it handles
// it. At the end of stdin it stops what still runs, removes its own files, and exits.
//
// `node driver.js --orchestrator=PATH` drives another orchestrator module (a
// subclass of this one, such as a known-bad variant of the suite's own tests).

const path = require('node:path');
const readline = require('node:readline');

const PROTOCOL = 1;
const NAME = 'js-orchestrator';
const VERSION = '0.1.0';
const CAPABILITIES = ['observability', 'isolation'];

function load() {
  const flag = process.argv.slice(2).find((a) => a.startsWith('--orchestrator='));
  const file = flag ? path.resolve(flag.slice("--orchestrator=".length)) : "./orchestrator";
  return { base: require("./orchestrator"), chosen: require(file) };
}

const { base, chosen } = load();
const Orchestrator = chosen.Orchestrator || base.Orchestrator;

/** The error response of an exception: refusals by kind, anything else "failed". */
function errorOf(error) {
  if (error instanceof base.InvalidAgentId) {
    return { kind: 'invalid_agent_id', message: error.message, agent_id: error.agentId, rule: error.rule };
  }
  if (error instanceof base.ValueError) return { kind: 'value_error', message: error.message };
  if (error instanceof base.BackendError) return { kind: 'backend_error', message: error.message };
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  return { kind: 'failed', message: String(error && error.message ? error.message : error) };
}

let orchestrator = null;

async function handle(op, args) {
  if (op === 'hello') {
    if (args.protocol !== PROTOCOL) throw new Error(`this driver speaks protocol ${PROTOCOL}, not ${args.protocol}`);
    return { protocol: PROTOCOL, name: NAME, version: VERSION, capabilities: CAPABILITIES };
  }
  if (op === 'start') {
    orchestrator = new Orchestrator(args.world);
    return null;
  }
  if (orchestrator === null) throw new Error(`${op} before start`);
  const operation = {
    spawn: () => orchestrator.spawn(args),
    send: () => orchestrator.send(args),
    resume: () => orchestrator.resume(args),
    close: () => orchestrator.close(args),
    export: () => orchestrator.export(args),
    tick: () => orchestrator.tick(),
    session: () => orchestrator.session(args),
    sessions: () => orchestrator.sessions(),
    shutdown: () => orchestrator.shutdown(),
  }[op];
  if (operation === undefined) throw new Error(`unknown operation ${JSON.stringify(op)}`);
  const result = await operation();
  return result === undefined ? null : result;
}

async function main() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let request;
    try {
      request = JSON.parse(line);
    } catch (error) {
      process.stderr.write(`not a JSON request: ${line.slice(0, 200)}\n`);
      continue;
    }
    let answer;
    try {
      if (orchestrator !== null) orchestrator.now = Number(request.time);
      const result = await handle(request.op, request.args || {});
      if (orchestrator !== null) orchestrator.now = Number(request.time);
      answer = { id: request.id, ok: true, result };
    } catch (error) {
      answer = { id: request.id, ok: false, error: errorOf(error) };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
  if (orchestrator !== null) orchestrator.release();
  process.exit(0);
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    if (orchestrator !== null) require('node:fs').rmSync(orchestrator.private, { recursive: true, force: true });
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
  });
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
