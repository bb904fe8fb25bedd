#!/usr/bin/env python3
"""Logs in to the Drover dashboard in a real headless Chromium, for the integration tests.

The check: the page sends the browser to the login page; a wrong token is refused there; the token given by --token
is typed in and "Log in" clicked (real mouse events); the page then renders the workers (--worker) and its live feed
connects over the WebSocket with the session cookie. Then the page's own fetch of an action (an answer) gets 403 for
--role observer, and is let through (not 401 or 403) for --role operator. A screenshot is saved. Exit 0 when all of it
held, 1 with the reason otherwise.
"""
import argparse
import shutil
import sys

from dashboard_check import run_check

ACTION = """fetch('/api/answer', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({item: 'none', decision: 'approve'})}).then(r => r.status)"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--token", required=True)
    parser.add_argument("--role", required=True, choices=["operator", "observer"])
    parser.add_argument("--worker", required=True, help="a worker id the page must list once logged in")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()

    def steps(browser):
        browser.open(args.url)
        browser.wait_for("the login page", "location.pathname === '/login' && !!document.querySelector('input[name=token]')", args.timeout)
        browser.type_into("input[name=token]", "drv_not_a_token")
        browser.click("button[type=submit]")
        browser.wait_for("the wrong token to be refused", "!!document.getElementById('failed')", args.timeout)
        print("REFUSED", flush=True)
        browser.type_into("input[name=token]", args.token)
        browser.click("button[type=submit]")
        browser.wait_for("the worker to be listed", f"!!document.querySelector('[data-worker=\"{args.worker}\"]')", args.timeout)
        browser.wait_for("the live feed to connect", "document.getElementById('conn').className === 'live'", args.timeout)
        print("LOGGED IN", flush=True)
        status = browser.evaluate(ACTION)
        print(f"ACTION {status}", flush=True)
        if args.role == "observer" and status != 403:
            raise RuntimeError(f"an observer's action got {status}, not 403")
        if args.role == "operator" and status in (401, 403):
            raise RuntimeError(f"an operator's action got {status}")

    return run_check(args.chromium, args.screenshot, steps)


if __name__ == "__main__":
    sys.exit(main())
