'use strict';
// OBS-001, in JavaScript: the example orchestrator (examples/js-orchestrator/), but
// at every tick it takes a Codex agent whose sessions directory does not exist as
// gone, and ends it: exactly the premature cleanup of seed 002, while the worker is
// still running its first turn (Codex writes nothing there until that turn is over).
//
// It only stats the directory (no read, no listing), so it never polls the session
// before its first turn (OBS-002 holds): not-found-is-ended is its one bug.
//
//   node examples/js-orchestrator/driver.js --orchestrator=tests/driver/js_obs_001_not_found_is_ended.js
//
// VIOLATES = "OBS-001"

const fs = require('node:fs');
const path = require('node:path');
const { Orchestrator } = require('../../examples/js-orchestrator/orchestrator');

class NotFoundIsEnded extends Orchestrator {
  async tick() {
    await super.tick();
    for (const agent of this.agents.values()) {
      if (agent.backend === 'codex' && agent.state !== 'ended' && !agent.firstTurnDone
          && !fs.existsSync(path.join(agent.home, 'sessions'))) {
        await this.end(agent, 'close');
      }
    }
  }
}

module.exports = { Orchestrator: NotFoundIsEnded };
