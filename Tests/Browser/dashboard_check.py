#!/usr/bin/env python3
"""Drives the Drover dashboard in a real headless Chromium, for the integration tests.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: commands on fd 3, replies on
fd 4, NUL-separated JSON), so nothing beyond Python's standard library is needed.

The check: the page renders the workers; it prints READY, and the test then makes something happen; a live update
arrives over the WebSocket (the feed shows the event named by --live-event); an inbox item appears, gets the answer
typed in and the Answer button clicked (real mouse events); the inbox says the answer went out; the TODO is done
(the feed shows --done-event). A screenshot is saved. Exit 0 when all of it held, 1 with the reason otherwise.
"""
import argparse
import base64
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self, executable, width=1400, height=1100):
        self.profile = tempfile.mkdtemp(prefix="drover-chromium-")
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Move the child's ends above 10, so that placing them at 3 and 4 cannot clobber one with the other.
        child_in = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def place_pipes():
            os.dup2(child_in, 3)  # os.dup2 makes 3 and 4 inheritable; everything else is close-on-exec
            os.dup2(child_out, 4)
            os.setsid()  # its own process group, ended as a whole

        self.process = subprocess.Popen(
            [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--remote-debugging-pipe",
             f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            preexec_fn=place_pipes, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(child_in)
        os.close(child_out)
        self.writer = os.fdopen(to_chrome_w, "wb", buffering=0)
        self.reader = os.fdopen(from_chrome_r, "rb", buffering=0)
        self.pending = b""
        self.next_id = 0
        self.session = None

    def close(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def send(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        self.writer.write(json.dumps(message).encode() + b"\0")
        while True:
            reply = self.receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def receive(self):
        while b"\0" not in self.pending:
            chunk = self.reader.read(65536)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.pending += chunk
        message, self.pending = self.pending.split(b"\0", 1)
        return json.loads(message)

    def open(self, url):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, what, expression, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.evaluate(expression):
                    return
            except RuntimeError:
                pass  # the page is still loading
            time.sleep(0.1)
        text = self.evaluate("document.body ? document.body.innerText.slice(0, 3000) : ''")
        raise RuntimeError(f"timed out waiting for {what}; the page shows:\n{text}")

    def click(self, selector):
        box = self.evaluate(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            e.scrollIntoView(); const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()""")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})

    def type_into(self, selector, text):
        self.click(selector)
        self.send("Input.insertText", {"text": text})

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))


def run_check(chromium, screenshot, steps):
    """Runs `steps(browser)` in a fresh headless Chromium and saves the screenshot either way; 0 when the steps held,
    1 with the reason printed otherwise."""
    browser = Browser(chromium)
    try:
        steps(browser)
        browser.screenshot(screenshot)
        print(f"SCREENSHOT {screenshot}", flush=True)
        return 0
    except Exception as error:  # the test shows this line
        print(f"FAILED {error}", flush=True)
        try:
            browser.screenshot(screenshot)
        except Exception:
            pass
        return 1
    finally:
        browser.close()


def feed_has(event_type):
    return f"!!document.querySelector('#feed [data-type=\"{event_type}\"]')"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--worker", required=True, help="a worker id the page must list")
    parser.add_argument("--live-event", default="todo.assigned", help="an event type that must arrive live")
    parser.add_argument("--answer", required=True, help="the answer to type into the first inbox item")
    parser.add_argument("--done-event", default="todo.done")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()

    def steps(browser):
        browser.open(args.url)
        browser.wait_for("the worker to be listed", f"!!document.querySelector('[data-worker=\"{args.worker}\"]')", args.timeout)
        browser.wait_for("the live feed to connect", "document.getElementById('conn').className === 'live'", args.timeout)
        print("READY", flush=True)
        browser.wait_for(f"a live {args.live_event} event", feed_has(args.live_event), args.timeout)
        browser.wait_for("an inbox item", "!!document.querySelector('#inbox .item input')", args.timeout)
        item = browser.evaluate("document.querySelector('#inbox .item').dataset.item")
        print(f"INBOX {item}", flush=True)
        browser.type_into("#inbox .item input", args.answer)
        browser.click("#inbox .item button.reply")
        browser.wait_for("the answer to be sent", f"document.getElementById('inbox-result').textContent === 'sent reply for {item}'", args.timeout)
        print("ANSWERED", flush=True)
        browser.wait_for(f"the {args.done_event} event", feed_has(args.done_event), args.timeout)
        browser.wait_for("the board to show it done", "document.querySelector('[data-column=\"done\"] .card') !== null", args.timeout)
        browser.wait_for("the review to count it", "document.getElementById('eta').textContent.includes('1/1 done')", args.timeout)

    return run_check(args.chromium, args.screenshot, steps)


if __name__ == "__main__":
    sys.exit(main())
