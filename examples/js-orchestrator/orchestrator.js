'use strict';
// A small orchestrator of coding agents, in JavaScript: it runs Codex CLI, Claude Code
// and Gemini CLI as sub-agent processes and keeps the invariants of observability
// (seed 002) and isolation (seed 000) of the conformance suite.
//
// * Each agent lives in <home>/agents/<agent_id>/: that is the CLI's home (CODEX_HOME,
//   or HOME for Claude Code and Gemini CLI) and <it>/tmp its TMPDIR; an id that could
//   name anything else is refused before anything exists.
// * The main history (<home>/history.jsonl) gets one "started" and one "finished"
//   line per invocation, with summaries of the prompt and of the final answer only;
//   the audit log (<home>/log/multi-agent.log) one line per spawn, resume, finish,
//   export and cleanup. Nothing an agent streams is written anywhere by us.
// * A Codex session file does not exist until its first turn completes, so a Codex
//   agent is never looked for before then, and "not found" is never "ended" for any
//   CLI: only a process exit, a close or a shutdown ends an agent. A first turn that
//   outlasts the deadline is reported suspected hung, and the agent is kept.
//
// Everything it learns from its processes it learns at its next call (`pump`): their
// stdout (kept in files of its own, read from where it left off) and their exits.
// Time is whatever the caller says it is (`now` of every call): it never reads a clock
// of its own for anything it records.

const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const cli = require('./cli');

/** Real milliseconds to wait for a CLI to take its prompt, or to die of a signal. */
const BOUND_MS = 30000;
/** Longest summary written to the main history, in characters. */
const SUMMARY = 120;
const MAX_ID = 64;
const RESERVED = new Set(['con', 'prn', 'aux', 'nul',
  ...Array.from({ length: 10 }, (_, i) => `com${i}`), ...Array.from({ length: 10 }, (_, i) => `lpt${i}`)]);

class InvalidAgentId extends Error {
  constructor(agentId, rule) {
    super(`invalid agent id ${JSON.stringify(agentId)}: ${rule}`);
    this.agentId = agentId;
    this.rule = rule;
  }
}
class ValueError extends Error {}
class BackendError extends Error {}

/** The first rule `id` breaks, or null: an allow-list, so no separator is missed. */
function agentIdProblem(id) {
  if (typeof id !== 'string') return 'must be a string';
  if (id === '') return 'must not be empty';
  if (id.length > MAX_ID) return `must be at most ${MAX_ID} characters long (it has ${id.length})`;
  if (/[\u0000-\u001f\u007f]/.test(id)) return 'must not contain NUL or control characters';
  if (id.includes('/') || id.includes('\\')) return "must not contain a path separator ('/' or '\\')";
  if (id === '.' || id === '..') return "must not be '.' or '..'";
  if (id.includes('..')) return "must not contain '..' (it could name a parent directory)";
  if (!/^[A-Za-z0-9._-]+$/.test(id)) return "may only use letters, digits, '.', '_' and '-'";
  if (!/^[A-Za-z0-9]/.test(id)) return 'must start with a letter or a digit';
  if (RESERVED.has(id.split('.', 1)[0].toLowerCase())) return 'is a reserved device name on Windows';
  return null;
}

function summarize(text) {
  const flat = String(text || '').split(/\s+/).filter(Boolean).join(' ');
  return flat.length <= SUMMARY ? flat : `${flat.slice(0, SUMMARY - 3).trimEnd()}...`;
}

function iso(seconds) {
  return new Date(Math.round(seconds * 1000)).toISOString();
}

/** One line appended with one write on an O_APPEND descriptor: never half a line. */
function appendLine(file, record) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'a', 0o644);
  try {
    fs.writeSync(fd, `${JSON.stringify(record)}\n`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Copy a tree byte for byte, links as links (they stay relative inside the copy). */
function copyTree(source, target) {
  fs.mkdirSync(target, { recursive: true });
  for (const entry of fs.readdirSync(source, { withFileTypes: true })) {
    const from = path.join(source, entry.name);
    const to = path.join(target, entry.name);
    if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
    else if (entry.isDirectory()) copyTree(from, to);
    else if (entry.isFile()) fs.copyFileSync(from, to);
  }
}

/** Whether a child process has exited (a zombie not yet collected, or collected). */
function gone(pid) {
  let stat;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** One process of a session: one prompt. Its stdout goes to a file of ours. */
class Run {
  constructor(child, outPath) {
    this.child = child;
    this.pid = child.pid;
    this.outPath = outPath;
    this.fd = fs.openSync(outPath, 'r');
    this.text = '';
    this.events = [];
    this.said = '';
    this.killed = false;
    this.reaped = false;
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ code: 127, signal: null, error }));
    });
  }

  /** Take what the process printed since the last read, as JSON events. */
  read() {
    const chunk = Buffer.alloc(65536);
    let got;
    const parts = [];
    while ((got = fs.readSync(this.fd, chunk, 0, chunk.length, null)) > 0) {
      parts.push(Buffer.from(chunk.subarray(0, got)));
    }
    this.text += Buffer.concat(parts).toString('utf8');
    let newline;
    while ((newline = this.text.indexOf('\n')) >= 0) {
      const line = this.text.slice(0, newline);
      this.text = this.text.slice(newline + 1);
      try {
        const event = JSON.parse(line);
        if (event && typeof event === 'object' && !Array.isArray(event)) this.events.push(event);
      } catch {
        // A CLI's noise on stdout is skipped, as any orchestrator skips it.
      }
    }
  }

  close() {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    fs.rmSync(this.outPath, { force: true });
  }
}

class Orchestrator {
  constructor(world) {
    this.world = world;
    this.home = world.home;
    this.settings = world.settings;
    this.agents = new Map();
    this.now = 0;
    // Our own files (the stdout of every process), outside every agent's directory.
    this.private = fs.mkdtempSync(path.join(os.tmpdir(), 'js-orchestrator-'));
    this.launches = 0;
  }

  // -- the operations ------------------------------------------------------------------

  async spawn({ agent_id: agentId, backend, prompt, parent }) {
    const rule = agentIdProblem(agentId);
    if (rule !== null) throw new InvalidAgentId(agentId, rule);
    if (!cli.BACKENDS.includes(backend)) throw new ValueError(`unknown backend ${JSON.stringify(backend)}`);
    await this.pump();
    if (this.agents.has(agentId)) throw new ValueError(`agent ${JSON.stringify(agentId)} already exists`);
    const home = path.join(this.home, 'agents', agentId);
    const agent = {
      id: agentId, backend, home, tmp: path.join(home, 'tmp'), parent, prompt,
      sessionId: null, runs: [], state: backend === 'codex' ? 'unobservable' : 'pending',
      firstTurnDone: false, startedAt: this.now, transcript: null, invocation: null,
      exitCode: null,
    };
    fs.mkdirSync(agent.tmp, { recursive: true });
    this.carrySettings(agent);
    const chosen = backend === 'claude' ? crypto.randomUUID() : null;
    const run = await this.launch(agent, cli.argv(backend, {
      prompt, cwd: this.world.workspace, sessionId: chosen, resume: false,
    }));
    const first = await this.firstLine(agent, run);
    agent.sessionId = cli.sessionIdOf(backend, first, chosen);
    agent.runs.push(run);
    this.agents.set(agentId, agent);
    this.begin(agent, false);
  }

  async send({ agent_id: agentId, prompt }) {
    await this.pump();
    const agent = this.agent(agentId);
    if (agent.state === 'ended') throw new BackendError(`agent ${JSON.stringify(agentId)} has ended; resume it first`);
    const run = await this.launch(agent, cli.argv(agent.backend, {
      prompt, cwd: this.world.workspace, sessionId: agent.sessionId, resume: true,
    }));
    try {
      await this.firstLine(agent, run);
    } catch (error) {
      throw new BackendError(`${agent.backend} session ${agent.sessionId} did not take the prompt: ${error.message}`);
    }
    agent.runs.push(run);
  }

  async resume({ agent_id: agentId }) {
    await this.pump();
    const agent = this.agent(agentId);
    if (agent.state !== 'ended') return;
    // A one-prompt CLI resumes with its next prompt; this is a new invocation.
    agent.state = 'pending';
    fs.mkdirSync(agent.tmp, { recursive: true });
    this.begin(agent, true);
  }

  async close({ agent_id: agentId }) {
    await this.pump();
    await this.end(this.agent(agentId), 'close');
  }

  async export({ agent_id: agentId, destination }) {
    await this.pump();
    const agent = this.agent(agentId);
    const source = fs.realpathSync(agent.home);
    const target = path.resolve(destination);
    if (target === source || target.startsWith(source + path.sep)) {
      throw new ValueError(`cannot export ${agent.home} into itself (${destination})`);
    }
    if (fs.existsSync(target) && (!fs.statSync(target).isDirectory() || fs.readdirSync(target).length)) {
      throw new ValueError(`export destination ${destination} exists and is not an empty directory`);
    }
    copyTree(source, target);
    this.audit('export', agent.id, { destination: target });
  }

  async tick() {
    await this.pump();
    for (const agent of this.agents.values()) {
      if (agent.state === 'ended') continue;
      if (!agent.firstTurnDone && this.now - agent.startedAt > this.settings.first_turn_deadline
          && agent.state !== 'hung') {
        agent.state = 'hung'; // reported, and kept: a slow first turn is not an end
      }
      if (this.mayLook(agent)) this.look(agent);
    }
  }

  session({ agent_id: agentId }) {
    const agent = this.agents.get(agentId);
    return agent === undefined ? null : this.view(agent);
  }

  sessions() {
    return [...this.agents.values()].map((agent) => this.view(agent));
  }

  async shutdown() {
    await this.pump();
    for (const agent of this.agents.values()) await this.end(agent, 'shutdown');
  }

  /**
   * The world is over: close and remove our own files. What still runs is left to
   * its owner (the harness, or the user's session): exiting is not an end signal.
   */
  release() {
    for (const agent of this.agents.values()) {
      for (const run of agent.runs) {
        run.close();
        run.child.unref();
      }
    }
    fs.rmSync(this.private, { recursive: true, force: true });
  }

  // -- what the processes did -------------------------------------------------------------

  /**
   * Read what every process printed and collect the ones that exited, then act on it
   * as on one moment's news: every completed turn first, then every exit.
   */
  async pump() {
    const exits = [];
    for (const agent of this.agents.values()) {
      for (const run of agent.runs) {
        if (run.reaped) continue;
        const over = gone(run.pid);
        if (over) run.status = await run.exit;
        run.read();
        this.interpret(agent, run);
        if (over) {
          run.reaped = true;
          if (!run.killed) exits.push([agent, run]);
        }
      }
    }
    for (const [agent, run] of exits) {
      if (agent.state === 'ended' || agent.runs.some((r) => !r.reaped)) continue;
      // The session's last process ended on its own: the invocation is over.
      const { code, signal } = run.status;
      agent.exitCode = signal ? 1 : code;
      await this.end(agent, 'exit');
    }
  }

  interpret(agent, run) {
    for (const event of run.events.splice(0)) {
      const said = cli.meaning(agent.backend, event, run.said);
      if (said.tool) run.said = '';
      if (said.text !== undefined) run.said = said.text;
      if (said.final !== undefined && agent.state !== 'ended') {
        run.said = '';
        agent.invocation.lastOutput = said.final;
        if (!agent.firstTurnDone) {
          agent.firstTurnDone = true;
          if (agent.state === 'unobservable' || agent.state === 'hung') agent.state = 'pending';
        }
      }
    }
  }

  // -- looking for the session file -----------------------------------------------------

  /** Never a Codex session before its first turn completed: its file may not exist. */
  mayLook(agent) {
    if (agent.backend === 'codex' && !agent.firstTurnDone) return false;
    return agent.state !== 'ended';
  }

  look(agent) {
    const found = cli.locate(agent.backend, agent.home, this.world.workspace, agent.sessionId);
    if (found === null) return; // not yet, never "ended"
    agent.transcript = found;
    if (agent.state === 'pending') agent.state = 'observable';
  }

  // -- ending ------------------------------------------------------------------------------

  /** End an agent after a positive end signal: its exit, a close or a shutdown. */
  async end(agent, reason) {
    if (agent.state === 'ended') return;
    // A one-prompt CLI exits right after its turn: learn its file before it is over.
    if (agent.transcript === null && this.mayLook(agent)) this.look(agent);
    agent.state = 'ended';
    for (const run of agent.runs) {
      if (run.reaped) continue;
      run.killed = true;
      await this.stop(run);
      run.reaped = true;
    }
    let status = 'closed';
    if (reason === 'exit') status = agent.exitCode ? 'failed' : 'succeeded';
    agent.exitCode = null;
    this.history(agent, 'finished', status);
    this.audit('finish', agent.id, { reason, status });
    this.cleanup(agent);
  }

  async stop(run) {
    for (const signal of ['SIGTERM', 'SIGKILL']) {
      try {
        process.kill(-run.pid, signal);
      } catch {
        return; // its group is gone already
      }
      const done = await Promise.race([run.exit, sleep(BOUND_MS).then(() => null)]);
      if (done !== null) return;
    }
  }

  /** Remove the agent's own temporary directory, and only it (never by prefix). */
  cleanup(agent) {
    let stat;
    try {
      stat = fs.lstatSync(agent.tmp);
    } catch {
      return;
    }
    if (!stat.isDirectory()) return;
    fs.rmSync(agent.tmp, { recursive: true, force: true });
    this.audit('cleanup', agent.id, { removed: agent.tmp });
  }

  // -- the main history and the audit log ---------------------------------------------

  begin(agent, resumed) {
    agent.invocation = { startedAt: this.now, prompt: agent.prompt, resumed, lastOutput: null };
    this.history(agent, 'started', 'running');
    this.audit(resumed ? 'resume' : 'spawn', agent.id, {
      backend: agent.backend, session_id: agent.sessionId, home: agent.home,
    });
  }

  history(agent, event, status) {
    const inv = agent.invocation;
    const finished = event === 'finished';
    appendLine(path.join(this.home, 'history.jsonl'), {
      type: 'subagent_invocation', event, agent_id: agent.id, backend: agent.backend,
      session_id: agent.sessionId, ts: Math.floor(finished ? this.now : inv.startedAt),
      started_at: iso(inv.startedAt), finished_at: finished ? iso(this.now) : null, status,
      resumed: inv.resumed, prompt_summary: summarize(inv.prompt),
      output_summary: finished ? summarize(inv.lastOutput) : null,
      duration_s: finished ? Math.round((this.now - inv.startedAt) * 1000) / 1000 : null,
    });
  }

  audit(event, agentId, details) {
    appendLine(path.join(this.home, 'log', 'multi-agent.log'), {
      time: iso(this.now), event, agent_id: agentId, ...details,
    });
  }

  // -- launching ------------------------------------------------------------------------

  /** The user's configuration of the CLI (its model, its auth) is each agent's too. */
  carrySettings(agent) {
    const mains = cli.settingsFiles(agent.backend, this.home);
    const own = cli.settingsFiles(agent.backend, agent.home);
    mains.forEach((source, i) => {
      if (fs.existsSync(source) && !fs.existsSync(own[i])) {
        fs.mkdirSync(path.dirname(own[i]), { recursive: true });
        fs.copyFileSync(source, own[i]);
      }
    });
  }

  async launch(agent, args) {
    this.launches += 1;
    const outPath = path.join(this.private, `stdout-${this.launches}.jsonl`);
    const out = fs.openSync(outPath, 'w');
    const env = {
      ...process.env, ...this.world.env, HOME: agent.home,
      TMPDIR: agent.tmp, TMP: agent.tmp, TEMP: agent.tmp,
    };
    if (agent.backend === 'codex') env.CODEX_HOME = agent.home;
    let child;
    try {
      child = spawn(args[0], args.slice(1), {
        cwd: this.world.workspace, env, stdio: ['ignore', out, 'ignore'], detached: true,
      });
    } finally {
      fs.closeSync(out);
    }
    const run = new Run(child, outPath);
    if (child.pid === undefined) {
      const { error } = await run.exit;
      run.close();
      throw new BackendError(`cannot launch ${args[0]}: ${error ? error.message : 'no process'}`);
    }
    return run;
  }

  /** Wait (bounded, in real time) for the line a CLI prints once it took its prompt. */
  async firstLine(agent, run) {
    const wanted = cli.STARTED[agent.backend];
    const deadline = Date.now() + BOUND_MS;
    for (;;) {
      run.read();
      const found = run.events.find((e) => e.type === wanted);
      if (found) return found;
      const over = gone(run.pid);
      if (over || Date.now() > deadline) {
        if (!over) await this.stop(run);
        const { code, signal } = await run.exit;
        run.reaped = true;
        run.close();
        throw new BackendError(`${agent.backend} printed no ${wanted} line (exit ${signal || code})`);
      }
      await sleep(1);
    }
  }

  // -- helpers -----------------------------------------------------------------------------

  agent(agentId) {
    const agent = this.agents.get(agentId);
    if (agent === undefined) throw new ValueError(`no agent ${JSON.stringify(agentId)} was spawned`);
    return agent;
  }

  view(agent) {
    let state = 'starting';
    if (agent.state === 'ended') state = 'ended';
    else if (agent.state === 'hung') state = 'suspected_hung';
    else if (agent.state === 'observable' || agent.firstTurnDone) state = 'running';
    return {
      agent_id: agent.id, backend: agent.backend, state,
      session_id: agent.sessionId, transcript: agent.transcript,
    };
  }
}

module.exports = { Orchestrator, InvalidAgentId, ValueError, BackendError, agentIdProblem };
