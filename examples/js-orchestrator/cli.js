'use strict';
// What each coding-agent CLI looks like from outside: how it is launched, what its
// streaming stdout says, and where it writes its session file. These are facts of the
// real CLIs (Codex CLI, Claude Code, Gemini CLI), measured and recorded in the
// conformance suite's REAL_BACKENDS.md; the suite's fakes show the same edges.
//
//   CLI     launch (one prompt per process)              session id       turn complete
//   codex   codex exec --json ... [resume ID] PROMPT     thread.started   turn.completed
//   claude  claude -p PROMPT --output-format stream-json chosen by us     result
//           --verbose (--session-id ID | --resume ID)
//   gemini  gemini -p PROMPT --output-format stream-json init             result
//           [--resume ID]

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

const BACKENDS = ['codex', 'claude', 'gemini'];

/** The first stdout line a CLI prints once it has taken its prompt. */
const STARTED = { codex: 'thread.started', claude: 'system', gemini: 'init' };

/**
 * The argv of one launch. `sessionId` is null for a new Codex or Gemini session (the
 * CLI names it); Claude Code's id is always ours. `resume` continues the session.
 */
function argv(backend, { prompt, cwd, sessionId, resume }) {
  if (backend === 'codex') {
    const head = ['codex', 'exec', '--json', '--skip-git-repo-check', '-C', cwd];
    return resume ? [...head, 'resume', sessionId, prompt] : [...head, prompt];
  }
  if (backend === 'claude') {
    return ['claude', '-p', prompt, '--output-format', 'stream-json', '--verbose',
      resume ? '--resume' : '--session-id', sessionId];
  }
  const base = ['gemini', '-p', prompt, '--output-format', 'stream-json'];
  return resume ? [...base, '--resume', sessionId] : base;
}

/** The session id a CLI's first line names (Claude Code's is the one we chose). */
function sessionIdOf(backend, event, chosen) {
  if (backend === 'codex') return event.thread_id;
  if (backend === 'gemini') return event.session_id;
  return chosen;
}

/**
 * What one stdout event means for the turn of its process: `{text}` when it carries
 * assistant text (the answer so far), `{tool: true}` for a tool call (what was said
 * before it was not the answer), `{final}` when the turn is over with that answer.
 * Everything else (thoughts, plans, usage) is the agent's own business.
 */
function meaning(backend, event, said) {
  const type = event.type;
  if (backend === 'codex') {
    const item = event.item || {};
    if (type === 'item.completed' && item.type === 'agent_message') return { text: String(item.text || '') };
    if (type === 'item.started' && item.type === 'command_execution') return { tool: true };
    if (type === 'turn.completed') return { final: said };
    return {};
  }
  if (backend === 'claude') {
    if (type === 'assistant') {
      const blocks = (event.message && event.message.content) || [];
      if (blocks.some((b) => b && b.type === 'tool_use')) return { tool: true };
      const text = blocks.filter((b) => b && b.type === 'text').map((b) => b.text).join('');
      return text ? { text } : {};
    }
    if (type === 'result') return { final: typeof event.result === 'string' ? event.result : said };
    return {};
  }
  if (type === 'message' && event.role === 'assistant') return { text: String(event.content || '') };
  if (type === 'tool_use' || type === 'tool_result') return { tool: true };
  if (type === 'result') return { final: said };
  return {};
}

/** The CLI's own configuration files in a home (copied from the user's main home). */
function settingsFiles(backend, home) {
  if (backend === 'codex') return [path.join(home, 'config.toml')];
  if (backend === 'claude') return [path.join(home, '.claude', 'settings.json')];
  return [path.join(home, '.gemini', 'settings.json')];
}

// -- where a CLI writes its session file ----------------------------------------------

/** Java's String.hashCode (UTF-16 code units, signed 32 bits) in base 36. */
function javaHash36(text) {
  let hash = 0;
  for (let i = 0; i < text.length; i += 1) hash = (Math.imul(31, hash) + text.charCodeAt(i)) | 0;
  return Math.abs(hash).toString(36);
}

/** Claude Code's project directory for a cwd: non-alphanumerics become '-'. */
function claudeProjectDir(cwd) {
  const name = cwd.replace(/[^A-Za-z0-9]/g, '-');
  return name.length <= 200 ? name : `${name.slice(0, 200)}-${javaHash36(cwd)}`;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** The id a Gemini chat file names (its first line, or the whole document). */
function geminiChatSession(file) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    const value = JSON.parse(file.endsWith('.jsonl') ? text.split('\n', 1)[0] : text);
    return value && typeof value.sessionId === 'string' ? value.sessionId : null;
  } catch {
    return null;
  }
}

function listing(dir) {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/**
 * The native session file of a session, found by the CLI's own naming rule, or null
 * when it does not exist (yet). For Codex this lists `sessions/`: call it only once
 * its first turn was reported complete (before that, not found means "not yet").
 */
function locate(backend, home, cwd, sessionId) {
  if (backend === 'codex') {
    const root = path.join(home, 'sessions');
    for (const year of listing(root)) {
      for (const month of listing(path.join(root, year))) {
        for (const day of listing(path.join(root, year, month))) {
          const dir = path.join(root, year, month, day);
          const hit = listing(dir).find((n) => n.startsWith('rollout-') && n.endsWith(`-${sessionId}.jsonl`));
          if (hit) return path.join(dir, hit);
        }
      }
    }
    return null;
  }
  if (backend === 'claude') {
    const file = path.join(home, '.claude', 'projects', claudeProjectDir(cwd), `${sessionId}.jsonl`);
    return fs.existsSync(file) ? file : null;
  }
  // Gemini CLI names its project directory after projects.json (0.30 and later), or
  // the sha256 of the cwd before it had a registry. A resume in a later minute starts
  // a second file; the conversation goes on in the one whose metadata names it.
  const registry = readJson(path.join(home, '.gemini', 'projects.json'));
  const named = registry && registry.projects && registry.projects[cwd];
  const project = typeof named === 'string' && named ? named
    : crypto.createHash('sha256').update(cwd).digest('hex');
  const chats = path.join(home, '.gemini', 'tmp', project, 'chats');
  const prefix = sessionId.slice(0, 8);
  for (const name of listing(chats)) {
    if (!name.startsWith('session-') || !/\.jsonl?$/.test(name)) continue;
    if (!name.replace(/\.jsonl?$/, '').endsWith(`-${prefix}`)) continue;
    if (geminiChatSession(path.join(chats, name)) === sessionId) return path.join(chats, name);
  }
  return null;
}

module.exports = { BACKENDS, STARTED, argv, sessionIdOf, meaning, settingsFiles, locate };
