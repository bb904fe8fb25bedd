#!/usr/bin/env python3
"""A Drover observer in Python with pyzmq, written from docs/protocol.md alone.

It catches up on the event log through the control socket, then follows the live event stream, filling any gap
from the log, and checks every event against the documented format. It stops when the plan named by --until-plan
is done (or failed) and prints a summary as JSON; it exits 1, naming the problem, when an event breaks the format.

    pip install pyzmq
    python3 examples/observer.py --events tcp://127.0.0.1:7101 --control tcp://127.0.0.1:7102 --until-plan nightly
"""
import argparse
import json
import sys
import time
import uuid

import zmq

TOPIC_SUBJECTS = {"todo", "agent", "worker", "plan"}


def fail(message):
    print(json.dumps({"ok": False, "problem": message}))
    sys.exit(1)


def check(topic, event):
    """The event format of docs/protocol.md §10."""
    for field, kind in (("seq", int), ("ts", int), ("type", str), ("data", dict)):
        if not isinstance(event.get(field), kind):
            fail(f"event {event} has no {kind.__name__} '{field}'")
    subject = event["type"].split(".", 1)[0]
    if subject in ("todo", "agent"):
        expected = f"{subject}.{event.get('plan', '-')}.{event.get('todo', '-')}"
    elif subject == "worker":
        expected = f"worker.{event.get('worker', '-')}"
    elif subject == "plan":
        expected = f"plan.{event.get('plan', '-')}"
    else:
        expected = subject
    if topic is not None and topic != expected:
        fail(f"event {event['seq']} ({event['type']}) came on topic '{topic}', expected '{expected}'")


class Control:
    """One DEALER on the control socket: [header][body] out, [header][body] back."""

    def __init__(self, context, endpoint, timeout):
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RCVTIMEO, int(timeout * 1000))
        self.socket.connect(endpoint)
        self.seq = 0

    def request(self, kind, body):
        self.seq += 1
        header = {"v": 1, "type": kind, "id": f"observer-{uuid.uuid4().hex[:8]}", "seq": self.seq, "ts": int(time.time() * 1000)}
        self.socket.send_multipart([json.dumps(header).encode(), json.dumps(body).encode()])
        reply_header, reply_body = self.socket.recv_multipart()
        header, body = json.loads(reply_header), json.loads(reply_body)
        if header.get("type") == "error":
            fail(f"the coordinator refused '{kind}': {body.get('code')}: {body.get('message')}")
        return body

    def events_after(self, seq, until=None):
        """The logged events after seq (up to until), page by page."""
        found = []
        while True:
            limit = 1000 if until is None else max(1, min(1000, until - seq))
            page = self.request("events", {"after": seq, "limit": limit})
            for event in page["events"]:
                if event["seq"] > seq and (until is None or event["seq"] <= until):
                    check(None, event)
                    found.append(event)
                    seq = event["seq"]
            if not page["events"] or seq >= (until if until is not None else page["last_seq"]):
                return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="tcp://127.0.0.1:7101")
    parser.add_argument("--control", default="tcp://127.0.0.1:7102")
    parser.add_argument("--until-plan", required=True, help="stop when this plan is done or failed")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for it")
    args = parser.parse_args()

    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(args.events)
    control = Control(context, args.control, args.timeout)

    seen, repaired, cursor = [], 0, 0
    deadline = time.time() + args.timeout

    def take(event):
        nonlocal cursor
        seen.append(event)
        cursor = event["seq"]
        return event["type"] in ("plan.done", "plan.failed") and event.get("plan") == args.until_plan

    # Catch up on everything logged so far, then follow live.
    for event in control.events_after(0):
        if take(event):
            break
    else:
        poller = zmq.Poller()
        poller.register(sub, zmq.POLLIN)
        while True:
            if time.time() > deadline:
                fail(f"plan {args.until_plan} did not finish within {args.timeout} s")
            if not poller.poll(200):
                # Quiet: anything logged since (a subscription still coming up, a drop) comes from the log.
                missed = control.events_after(cursor)
                repaired += len(missed)
                if any(take(event) for event in missed):
                    break
                continue
            topic, payload = sub.recv_multipart()
            event = json.loads(payload)
            check(topic.decode(), event)
            if event["seq"] <= cursor:
                continue
            if event["seq"] > cursor + 1:
                missed = control.events_after(cursor, until=event["seq"] - 1)
                repaired += len(missed)
                if any(take(missing) for missing in missed):
                    break
            if take(event):
                break

    seqs = [event["seq"] for event in seen]
    if seqs != list(range(1, len(seqs) + 1)):
        fail(f"the sequence has holes or repeats: {seqs[:20]}…")
    print(json.dumps({"ok": True, "events": len(seqs), "first_seq": seqs[0], "last_seq": seqs[-1], "filled_from_log": repaired}))


if __name__ == "__main__":
    main()
