#!/usr/bin/env python3
"""Writes the seed corpora in Corpus/<target>/ from the project's own examples: docs/protocol.md's JSON, the plans in
docs/plans.md and deploy/examples, and the codex output shown in the codex samples (copied into Samples/). Run it again
when those change; libFuzzer adds what it finds to a scratch copy, never here."""
import hashlib, json, pathlib, re, sys

import yaml

fuzz = pathlib.Path(__file__).resolve().parent
root = fuzz.parent
corpus = fuzz / "Corpus"

# The order of WireFuzz's `bodies`: the first byte of an input picks the body type.
BODIES = ["register", "welcome", "heartbeat", "assign", "lease_answer", "progress", "report", "ack", "control", "bye",
          "error", "submit", "ask", "recover", "recovery", "status", "plan_status", "review", "plan_report", "todo",
          "answer", "events", "plan", "review_request", "job", "policy", "rollback", "report_request", "merge", "empty"]
# Which body a message type's body frame is read as (a reply reuses the request's type: both are seeded).
BY_TYPE = {"register": ["register"], "welcome": ["welcome"], "heartbeat": ["heartbeat"], "assign": ["assign"],
           "accept": ["lease_answer"], "reject": ["lease_answer"], "progress": ["progress"], "report": ["report"],
           "ack": ["ack"], "control": ["control"], "bye": ["bye"], "error": ["error"], "submit": ["submit"],
           "ask": ["ask"], "recover": ["recover"], "recovery": ["recovery"], "status": ["status", "empty"],
           "todo": ["todo", "plan_status"], "answer": ["answer"], "inbox": ["empty"], "events": ["events"],
           "plan": ["plan", "plan_status"], "review": ["review_request", "review"], "job": ["job"],
           "policy": ["policy"], "rollback": ["rollback"], "plan_report": ["report_request", "plan_report"],
           "merge": ["merge"]}


def write(target, data):
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def blocks(text, language):
    return re.findall(r"```" + language + r"\n(.*?)```", text, re.S)


# Wire: every JSON line of docs/protocol.md, as a header and as the body its block's header names.
for block in blocks((root / "docs/protocol.md").read_text(), "json"):
    kinds = None
    for line in block.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "v" in value and "type" in value and "seq" in value:
            kinds = BY_TYPE.get(value["type"])
            write("WireFuzz", bytes([BODIES.index("empty")]) + line.encode())
            continue
        for kind in kinds or BODIES[:1]:
            write("WireFuzz", bytes([BODIES.index(kind)]) + line.encode())

# Plans: the YAML examples as written, and each as JSON.
plans = [(root / "deploy/examples/plan.yaml").read_text()] + blocks((root / "docs/plans.md").read_text(), "yaml")
for text in plans:
    write("PlanFuzz", text.encode())
    try:
        write("PlanFuzz", json.dumps(yaml.safe_load(text)).encode())
    except Exception:
        pass

# codex: each sample file's lines, a few at a time.
for target, name in (("CodexExecFuzz", "exec.jsonl"), ("AppServerFuzz", "app-server.jsonl")):
    lines = (fuzz / "Samples" / name).read_text().splitlines()
    for start in range(0, len(lines), 3):
        write(target, ("\n".join(lines[start:start + 3]) + "\n").encode())
