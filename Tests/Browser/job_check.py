#!/usr/bin/env python3
"""Drives the dashboard's job view in a real headless Chromium, for the integration tests.

The check: the job named by --job is shown with its current state highlighted in the lifecycle; once it waits for
its permissions, the page shows the permissions item with a checkbox per grant; the grants named by --refuse are
unticked and "Approve selected" is clicked (real mouse events); the inbox says the answer went out; the job reaches
--final-state, the page shows each refused grant as refused, and the plan's report shows its integration branch. A
screenshot is saved. Exit 0 when all of it held,
1 with the reason otherwise.
"""
import argparse
import json
import shutil
import sys

from dashboard_check import run_check


def current(job, state):
    return f"!!document.querySelector('[data-job=\"{job}\"][data-current=\"{state}\"] .state.current[data-state=\"{state}\"]')"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--job", required=True)
    parser.add_argument("--refuse", action="append", default=[], help="a grant to untick before approving")
    parser.add_argument("--final-state", default="done")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args()

    def steps(browser):
        browser.open(args.url)
        browser.wait_for("the live feed to connect", "document.getElementById('conn').className === 'live'", args.timeout)
        print("READY", flush=True)
        browser.wait_for("the job to wait for its permissions", current(args.job, "permission_negotiate"), args.timeout)
        print("STATE permission_negotiate", flush=True)
        browser.wait_for("the permissions item", "!!document.querySelector('#inbox .item input[data-grant]')", args.timeout)
        item = browser.evaluate("document.querySelector('#inbox .item').dataset.item")
        grants = browser.evaluate("[...document.querySelectorAll('#inbox .item input[data-grant]')].map((e) => e.dataset.grant)")
        print(f"INBOX {item} {' '.join(grants)}", flush=True)
        for grant in args.refuse:
            browser.click(f"#inbox .item input[data-grant={json.dumps(grant)}]")
        browser.click("#inbox .item button.approve")
        browser.wait_for("the answer to be sent", f"document.getElementById('inbox-result').textContent === 'sent approve for {item}'", args.timeout)
        print("ANSWERED", flush=True)
        browser.wait_for(f"the job to reach {args.final_state}", current(args.job, args.final_state), args.timeout)
        for grant in args.refuse:
            browser.wait_for(f"{grant} shown refused", f"document.querySelector('[data-job=\"{args.job}\"] [data-grant={json.dumps(grant)}]')?.textContent === 'refused'", args.timeout)
        print(f"STATE {args.final_state}", flush=True)
        # The plan's report, once it and its merges have ended: the integration branch with what went in.
        browser.wait_for("the plan's report", f"!!document.querySelector('[data-report=\"{args.job}\"] [data-integration]')", args.timeout)
        integration = browser.evaluate(f"document.querySelector('[data-report=\"{args.job}\"] [data-integration]').textContent")
        print(f"REPORT {integration}", flush=True)

    return run_check(args.chromium, args.screenshot, steps)


if __name__ == "__main__":
    sys.exit(main())
