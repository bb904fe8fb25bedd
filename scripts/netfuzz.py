#!/usr/bin/env python3
"""Network fuzzer for a live Drover coordinator (docs/operations.md, "Fuzzing").

Sends COUNT random and mutated multipart messages to the work and control sockets (DEALER) and random subscription
frames to the events socket (XSUB): random frame counts, valid headers with broken bodies, frames near the size
limits, invalid UTF-8, wrong JSON types, and byte-mutated copies of real messages from docs/protocol.md. Every
message it sends is one the coordinator must refuse: none names a real plan or TODO, and none can register (a worker
must register under its socket's routing id, and these sockets have random ones). It reads the error replies, and
prints one JSON line: {"sent": {...}, "total": n, "refused": {code: n}, "replies": n}.

    scripts/netfuzz.py --work tcp://127.0.0.1:7100 --control tcp://127.0.0.1:7102 --events tcp://127.0.0.1:7101 \
        [--count 3000] [--large 20] [--seed 1]
"""
import argparse
import json
import random
import sys
import time

import zmq

# Real messages, as docs/protocol.md shows them, aimed at nothing that exists.
WORK = [
    ("register", {"worker": "fuzz-w", "host": "fuzz", "slots": 2, "labels": ["linux"], "holding": [], "draining": False}),
    ("heartbeat", {"leases": ["nosuch/unit-tests@1"]}),
    ("heartbeat", {"leases": [], "draining": True}),
    ("accept", {"lease_id": "nosuch/unit-tests@1"}),
    ("reject", {"lease_id": "nosuch/unit-tests@1", "reason": "busy"}),
    ("progress", {"lease_id": "nosuch/unit-tests@1", "output": "line\n", "stream": "stdout"}),
    ("report", {"lease_id": "nosuch/unit-tests@1", "outcome": "succeeded", "exit_code": 0, "summary": "ok",
                "duration_ms": 12, "attempt": 1}),
    ("ask", {"lease_id": "nosuch/unit-tests@1", "question": "May I?", "kind": "approval"}),
    ("recover", {"lease_id": "nosuch/unit-tests@1"}),
    ("bye", {"reason": "shutdown"}),
    ("ack", {"ref": "x-1"}),
]
CONTROL = [
    ("status", {}),
    ("inbox", {}),
    ("events", {"after": 120, "limit": 10}),
    ("answer", {"item": "nosuch-q1-5be1f0", "decision": "approve"}),
    ("todo", {"plan": "nosuch", "todo": "unit-tests", "action": "retry"}),
    ("todo", {"plan": "nosuch", "todo": "api", "action": "steer", "text": "Use v2.", "by": "fuzz"}),
    ("plan", {"plan": "nosuch", "action": "pause"}),
    ("job", {"action": "show", "job": "nosuch"}),
    ("merge", {"plan": "nosuch", "todo": "docs", "action": "skip", "reason": "fuzz"}),
    ("rollback", {"plan": "nosuch", "step": "check", "tag": "drover/nosuch/after-docs"}),
    ("plan_report", {"plan": "nosuch"}),
    ("review", {"plan": "nosuch"}),
    ("policy", {"action": "forget", "repository": "/nonexistent/fuzz", "grant": "network"}),
    ("submit", {"plan": {"id": "nosuch", "title": "no todos", "todos": []}}),
]
TYPES = sorted({t for t, _ in WORK + CONTROL} | {"welcome", "assign", "control", "recovery", "error", "nonsense", ""})
JUNK = [None, True, False, 0, -1, 2**63, 1.5e308, "", "x" * 300, "\u0000", [], {}, [1, "a"], {"a": {"b": []}}]


def header(rng, kind, seq):
    return json.dumps({"v": 1, "type": kind, "id": f"fuzz-{seq}", "seq": seq, "ts": int(time.time() * 1000)}).encode()


def mutate_bytes(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(5)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif op == 1:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif op == 2:
            del data[at:at + rng.randint(1, 8)]
        elif op == 3:
            data[at:at] = rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b'"', b"{", b"]", b"\\u0000", b"null"])
        else:
            data[at:at] = data[:rng.randint(0, 16)]
    return bytes(data)


def mutate_json(rng, body):
    body = json.loads(json.dumps(body))
    if body and rng.random() < 0.7:
        key = rng.choice(list(body))
        if rng.random() < 0.3:
            del body[key]
        else:
            body[key] = rng.choice(JUNK)
    else:
        body[rng.choice(["extra", "lease_id", "plan", "v", ""])] = rng.choice(JUNK)
    return json.dumps(body).encode()


def large(rng, seq, catalog):
    """Big, within the socket's limits: a header over its 1 KiB, or a body over its 1 MiB."""
    kind, _ = rng.choice(catalog)
    if rng.random() < 0.5:
        return [header(rng, kind, seq) + b" " * 2048, b"{}"]
    return [header(rng, kind, seq), b'{"pad":"' + b"a" * ((1 << 20) + rng.randint(1, 4096)) + b'"}']


def message(rng, seq, catalog):
    """One message: (kind of mischief, frames)."""
    kind, body = rng.choice(catalog)
    roll = rng.random()
    if roll < 0.10:
        return "frame_count", [rng.randbytes(rng.randint(0, 40)) for _ in range(rng.choice([0, 1, 3, 4, 7]))] or [b""]
    if roll < 0.25:
        return "broken_body", [header(rng, kind, seq), mutate_json(rng, body)]
    if roll < 0.45:
        return "mutated", [mutate_bytes(rng, header(rng, kind, seq)), mutate_bytes(rng, json.dumps(body).encode())]
    if roll < 0.55:
        return "wrong_type", [header(rng, rng.choice(TYPES), seq), json.dumps(rng.choice(JUNK + [body])).encode()]
    if roll < 0.65:
        return "bad_utf8", [header(rng, kind, seq).replace(b"fuzz-", b"\xff\xfe-"), b'{"x":"\xc3\x28\xed\xa0\x80"}']
    if roll < 0.70:
        # One field of a good header broken: a version this is not, an empty or long id, a negative seq, no ts.
        fields = json.loads(header(rng, kind, seq))
        field, value = rng.choice([("v", 2), ("v", 0), ("v", "1"), ("id", ""), ("id", "i" * 201), ("seq", -1), ("ts", None)])
        fields[field] = value
        return "bad_header", [json.dumps(fields).encode(), json.dumps(body).encode()]
    if roll < 0.80:
        return "random", [rng.randbytes(rng.randint(0, 200)) for _ in range(2)]
    return "mutated", [header(rng, kind, seq), mutate_bytes(rng, json.dumps(body).encode())]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--events", required=True)
    parser.add_argument("--count", type=int, default=3000, help="messages to send, split between work and control")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--large", type=int, default=20, help="how many of them carry a frame over its size limit")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for the last replies")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    context = zmq.Context()
    sockets = {}
    for name, endpoint in (("work", args.work), ("control", args.control)):
        socket = context.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.SNDHWM, 100000)
        socket.connect(endpoint)
        sockets[name] = socket
    events = context.socket(zmq.XSUB)
    events.setsockopt(zmq.LINGER, 0)
    events.connect(args.events)
    poller = zmq.Poller()
    for socket in sockets.values():
        poller.register(socket, zmq.POLLIN)
    sent, refused, replies = {}, {}, 0
    # Large frames are few: each costs the coordinator a pass over a megabyte (redaction, then the size check).
    large_at = set(rng.sample(range(1, args.count + 1), min(args.large, args.count)))

    def drain(wait_ms):
        nonlocal replies
        for socket, _ in poller.poll(wait_ms):
            while True:
                try:
                    frames = socket.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                replies += 1
                try:
                    if json.loads(frames[-2]).get("type") == "error":
                        code = json.loads(frames[-1]).get("code", "?")
                        refused[code] = refused.get(code, 0) + 1
                except (ValueError, IndexError, AttributeError):
                    pass

    for seq in range(1, args.count + 1):
        name = "work" if seq % 2 else "control"
        catalog = WORK if name == "work" else CONTROL
        if seq in large_at:
            mischief, frames = "large", large(rng, seq, catalog)
        else:
            mischief, frames = message(rng, seq, catalog)
        sockets[name].send_multipart(frames)
        sent[mischief] = sent.get(mischief, 0) + 1
        if seq % 10 == 0:
            # What an events subscriber may send: subscriptions, unsubscriptions, and garbage.
            events.send(rng.choice([b"\x01", b"\x00", b"\x01drover", b""]) + rng.randbytes(rng.randint(0, 30)))
        if seq % 50 == 0:
            drain(0)
    # Every message is answered, most with an error (the ones that break the frame layout too). The coordinator
    # answers a batch at a time, and a batch with large frames takes a while: wait for them all, up to the timeout.
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and replies < args.count:
        drain(200)
    print(json.dumps({"sent": sent, "total": args.count, "refused": refused, "replies": replies}, sort_keys=True))
    context.destroy(linger=0)


if __name__ == "__main__":
    sys.exit(main())
