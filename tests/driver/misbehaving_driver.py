"""A driver that misbehaves on purpose at one operation: the reference's driver
(``reference_impl.driver``) until the request named by ``--at`` comes, then the
``--mode``:

* ``die``: exits with status 3 without answering (after writing to stderr);
* ``die-mid-line``: writes half a response and exits;
* ``hang``: never answers;
* ``garbage``: answers with a line that is not JSON;
* ``noise``: prints a log line on stdout before the answer;
* ``wrong-id``: answers with another request's id;
* ``invalid``: answers with a schema-invalid response (no ``ok``);
* ``bad-result``: a valid response whose result is not the operation's (a view with
  an unknown state);
* ``oversized``: writes more than the protocol's longest line without a newline;
* ``old-protocol``: announces protocol version 0 at ``hello``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from conformance.driver.protocol import MAX_LINE
from reference_impl.driver import Driver, _error


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", required=True)
    parser.add_argument("--at", required=True)
    options = parser.parse_args()
    driver = Driver()
    out = sys.stdout
    try:
        for line in sys.stdin:
            request = json.loads(line)
            op = request["op"]
            driver.clock.move_to(float(request["time"]))
            try:
                answer = {"id": request["id"], "ok": True,
                          "result": driver.handle(op, request["args"])}
            except Exception as error:
                answer = {"id": request["id"], "ok": False, "error": _error(error)}
            if op == options.at:
                misbehave(options.mode, request, answer)
            out.write(json.dumps(answer) + "\n")
            out.flush()
    finally:
        driver.release()
    return 0


def misbehave(mode: str, request: dict[str, object], answer: dict[str, object]) -> None:
    out = sys.stdout
    if mode == "die":
        sys.stderr.write(f"misbehaving driver: dying at {request['op']}\n")
        sys.stderr.flush()
        os._exit(3)
    if mode == "die-mid-line":
        out.write(json.dumps(answer)[:10])
        out.flush()
        os._exit(4)
    if mode == "hang":
        while True:
            time.sleep(60)
    if mode == "garbage":
        out.write("this is not JSON\n")
    elif mode == "noise":
        out.write("INFO starting the agent\n")
    elif mode == "wrong-id":
        answer["id"] = int(str(request["id"])) + 7
        return
    elif mode == "invalid":
        del answer["ok"]
        return
    elif mode == "bad-result":
        answer["result"] = {"agent_id": "x", "backend": "codex", "state": "asleep"}
        return
    elif mode == "oversized":
        out.write("[" + " " * (MAX_LINE + 10))
    elif mode == "old-protocol":
        answer["result"] = {**dict(answer["result"]), "protocol": 0}  # type: ignore[arg-type]
        return
    out.flush()
    if mode in ("garbage", "noise", "oversized"):
        while mode == "oversized":
            time.sleep(60)


if __name__ == "__main__":
    sys.exit(main())
