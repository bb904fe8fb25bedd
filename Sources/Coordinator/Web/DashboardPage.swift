/// The dashboard: one self-contained page (no outside scripts, fonts or styles: it works with no internet).
///
/// It loads the jobs, status, review and inbox from the JSON API, then follows the event stream over a WebSocket from the
/// status's sequence number, refilling any gap from `/api/events`, and refreshes what an event changes.
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Drover</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        :root { --bg:#0f1419; --panel:#182029; --text:#d8dee6; --dim:#8a96a3; --line:#2a3642;
          --pending:#5c6773; --ready:#3f7fbf; --waiting:#7a5cbf; --assigned:#b08a2e; --running:#e0a526; --done:#3fa35b;
          --failed:#d0453a; --escalated:#c0399b; --cancelled:#7a7a7a; --skipped:#4d5560; --paused:#6f5fbf; }
        * { box-sizing: border-box; }
        body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
        header { display:flex; gap:16px; align-items:baseline; padding:10px 16px; border-bottom:1px solid var(--line); }
        header h1 { font-size:18px; margin:0; }
        #conn { color:var(--dim); }
        #conn.live { color:var(--done); }
        main { display:grid; grid-template-columns: 2fr 1fr; gap:12px; padding:12px; }
        section { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:10px 12px; min-width:0; }
        section h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); margin:0 0 8px; }
        .wide { grid-column: 1 / -1; }
        #graph svg { width:100%; height:auto; }
        #graph text { fill:#fff; font-size:11px; }
        .board { display:grid; grid-template-columns: repeat(4, 1fr); gap:8px; }
        .column h3 { font-size:12px; color:var(--dim); margin:0 0 4px; }
        .card { border-left:4px solid var(--pending); background:#101820; margin:3px 0; padding:3px 6px; border-radius:3px; font-size:12px; }
        table { width:100%; border-collapse:collapse; font-size:12px; }
        td, th { text-align:left; padding:3px 4px; border-bottom:1px solid var(--line); }
        .ok { color:var(--done); } .late { color:var(--failed); }
        .item { border:1px solid var(--line); border-radius:4px; padding:6px; margin:6px 0; }
        .item p { margin:4px 0; }
        button { background:#24303c; color:var(--text); border:1px solid var(--line); border-radius:4px; padding:3px 10px; cursor:pointer; }
        button.approve { border-color:var(--done); } button.deny { border-color:var(--failed); }
        input[type=text] { background:#101820; color:var(--text); border:1px solid var(--line); border-radius:4px; padding:3px 6px; width:60%; }
        #feed { font:12px/1.35 ui-monospace, monospace; max-height:360px; overflow:auto; margin:0; }
        #feed div { white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
        .muted { color:var(--dim); }
        ol, ul { margin:4px 0; padding-left:20px; }
        .job { border:1px solid var(--line); border-radius:4px; padding:6px 8px; margin:6px 0; }
        .job h3 { font-size:13px; margin:0 0 6px; }
        .lifecycle { display:flex; flex-wrap:wrap; gap:4px; align-items:center; margin:4px 0; }
        .state { padding:2px 8px; border-radius:10px; background:#24303c; color:var(--dim); font-size:12px; }
        .state.passed { color:var(--text); }
        .state.current { background:var(--running); color:#000; font-weight:600; }
        .state.current.ended { background:var(--failed); color:#fff; }
        .state.current.finished { background:var(--done); color:#fff; }
        details { margin:4px 0; } summary { cursor:pointer; color:var(--dim); }
        #steer-text { width:100%; min-height:60px; background:#101820; color:var(--text); border:1px solid var(--line); border-radius:4px; padding:4px 6px; font:inherit; }
        pre.doc { white-space:pre-wrap; font:12px/1.35 ui-monospace, monospace; margin:4px 0; max-height:300px; overflow:auto; }
        </style>
        </head>
        <body>
        <header><h1>Drover</h1><span id="conn">connecting…</span><span id="summary" class="muted"></span></header>
        <main>
          <section class="wide"><h2>Jobs</h2><div id="jobs" class="muted">loading…</div></section>
          <section class="wide"><h2>Reports</h2><div id="reports" class="muted">no plan has finished yet</div></section>
          <section class="wide"><h2>Plan graph</h2><div id="graph" class="muted">loading…</div></section>
          <section><h2>TODO board</h2><div id="board" class="board"></div></section>
          <section><h2>Steer a TODO</h2><div id="steer"><select id="steer-todo"><option value="">no TODO is running</option></select>
            <textarea id="steer-text" maxlength="16384" placeholder="guidance for the running session: into its turn, or its next turn's input"></textarea>
            <button data-action="steer">Steer</button> <button data-action="pause">Pause after its turn</button> <button data-action="resume">Resume</button></div>
            <div id="steer-result" class="muted"></div></section>
          <section><h2>Workers</h2><div id="workers" class="muted">loading…</div></section>
          <section><h2>Inbox</h2><div id="inbox" class="muted">loading…</div><div id="inbox-result" class="muted"></div></section>
          <section><h2>Review</h2><div id="eta"></div><div id="review" class="muted">loading…</div></section>
          <section class="wide"><h2>Live events</h2><div id="feed"></div></section>
        </main>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
        const human = (s) => s < 60 ? `${Math.round(s)} s` : s < 3600 ? `${Math.floor(s/60)} min ${Math.round(s%60)} s` : `${Math.floor(s/3600)} h ${Math.floor(s%3600/60)} min`;
        let lastSeq = 0;
        let queue = Promise.resolve();
        const timers = {};

        async function get(path) {
          const response = await fetch(path);
          const body = await response.json();
          if (!response.ok) throw new Error(body.error || response.statusText);
          return body;
        }
        function later(name, ms, job) {
          clearTimeout(timers[name]);
          timers[name] = setTimeout(() => job().catch((e) => console.error(name, e)), ms);
        }

        async function refreshStatus() {
          const status = await get("/api/status");
          renderGraph(status.todos);
          renderBoard(status.todos);
          renderSteer(status.todos);
          renderWorkers(status.workers);
          $("summary").textContent = status.plans.map((p) => `${p.id} [${p.paused ? "paused" : p.state}] ${p.counts.done || 0}/${Object.values(p.counts).reduce((a, b) => a + b, 0)}` +
            (p.tokens ? ` (${p.tokens} tokens${p.cost_usd != null ? ", $" + p.cost_usd.toFixed(2) : ""})` : "")).join(" · ");
          return status;
        }

        function renderGraph(todos) {
          if (!todos.length) { $("graph").textContent = "no plans yet"; return; }
          const byPlan = {};
          for (const t of todos) (byPlan[t.plan] = byPlan[t.plan] || []).push(t);
          const W = 150, H = 26, GX = 40, GY = 10;
          let svg = "", top = 0, width = 0;
          for (const [plan, list] of Object.entries(byPlan)) {
            const level = {}, index = {};
            list.forEach((t) => (index[t.id] = t));
            const depth = (t, seen = 0) => level[t.id] ?? (level[t.id] = seen > list.length ? 0 :
              Math.max(0, ...(t.depends_on || []).filter((d) => index[d]).map((d) => depth(index[d], seen + 1) + 1)));
            list.forEach((t) => depth(t));
            const rows = {}, pos = {};
            for (const t of list) { const l = level[t.id]; rows[l] = (rows[l] || 0) + 1; pos[t.id] = { x: l * (W + GX), y: top + 18 + (rows[l] - 1) * (H + GY) }; }
            svg += `<text x="0" y="${top + 12}" fill="#8a96a3">${esc(plan)}</text>`;
            for (const t of list) for (const d of t.depends_on || []) if (pos[d])
              svg += `<line x1="${pos[d].x + W}" y1="${pos[d].y + H / 2}" x2="${pos[t.id].x}" y2="${pos[t.id].y + H / 2}" stroke="#2a3642" stroke-width="2"/>`;
            for (const t of list) {
              const p = pos[t.id];
              svg += `<g data-todo="${esc(plan + "/" + t.id)}" data-state="${t.state}"><title>${esc(t.title)} (${t.state})${t.detail ? ": " + esc(t.detail) : ""}</title>` +
                `<rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="4" fill="var(--${t.state})"/>` +
                `<text x="${p.x + 6}" y="${p.y + 17}">${esc(t.id.slice(0, 22))}</text></g>`;
              width = Math.max(width, p.x + W);
            }
            top += 18 + Math.max(...Object.values(rows)) * (H + GY) + 10;
          }
          $("graph").innerHTML = `<svg viewBox="0 0 ${width + 10} ${top}" style="max-height:${Math.min(top, 600)}px">${svg}</svg>`;
        }

        function renderBoard(todos) {
          const columns = { Queued: ["pending", "ready", "waiting", "paused"], Running: ["assigned", "running"], Done: ["done"], Stopped: ["failed", "escalated", "cancelled", "skipped"] };
          $("board").innerHTML = Object.entries(columns).map(([name, states]) => {
            const cards = todos.filter((t) => states.includes(t.state));
            return `<div class="column" data-column="${name.toLowerCase()}"><h3>${name} (${cards.length})</h3>` + cards.slice(0, 200).map((t) =>
              `<div class="card" data-todo="${esc(t.plan + "/" + t.id)}" style="border-color:var(--${t.state})" title="${esc(t.detail)}">${esc(t.plan)}/${esc(t.id)}${t.worker ? ` <span class="muted">@${esc(t.worker)}</span>` : ""}` +
              (t.state === "waiting" && t.resume_at ? ` <span class="muted" data-resumes="${t.resume_at}">waiting, resumes at ${new Date(t.resume_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}</span>` : "") +
              (t.cost_usd != null ? ` <span class="muted" data-cost="${t.cost_usd}">$${t.cost_usd.toFixed(2)}${t.cost_cap != null ? " of $" + t.cost_cap.toFixed(2) : ""}</span>` : "") + `</div>`).join("") + "</div>";
          }).join("");
        }

        function renderSteer(todos) {
          // Only the choices change: what the operator is typing stays.
          const select = $("steer-todo");
          const chosen = select.value;
          const live = todos.filter((t) => t.state === "running" || t.state === "paused" || t.state === "ready");
          select.innerHTML = live.length
            ? live.map((t) => `<option value="${esc(t.plan + "/" + t.id)}">${esc(t.plan)}/${esc(t.id)} [${esc(t.state)}]</option>`).join("")
            : `<option value="">no TODO is running</option>`;
          if (live.some((t) => t.plan + "/" + t.id === chosen)) select.value = chosen;
        }
        $("board").addEventListener("click", (event) => {
          // A card of the board chooses its TODO in the steer box, when it can be steered, paused or resumed.
          const card = event.target.closest(".card");
          const select = $("steer-todo");
          if (!card || ![...select.options].some((o) => o.value === card.dataset.todo)) return;
          select.value = card.dataset.todo;
          $("steer-text").focus();
        });
        $("steer").addEventListener("click", async (event) => {
          const button = event.target.closest("button");
          if (!button) return;
          const [plan, todo] = $("steer-todo").value.split("/");
          if (!todo) { $("steer-result").textContent = "choose a TODO first"; return; }
          const body = { plan, todo, action: button.dataset.action };
          if (body.action === "steer") body.text = $("steer-text").value;
          const response = await fetch("/api/todo", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
          const reply = await response.json();
          $("steer-result").textContent = response.ok ? `${body.action} sent to ${plan}/${todo} (${reply.todo.state})` : `not sent: ${reply.error}`;
          if (response.ok && body.action === "steer") $("steer-text").value = "";
        });

        function renderWorkers(workers) {
          if (!workers.length) { $("workers").textContent = "no workers connected"; return; }
          $("workers").innerHTML = "<table><tr><th>worker</th><th>host</th><th>busy</th><th>health</th></tr>" + workers.map((w) =>
            `<tr data-worker="${esc(w.id)}"><td>${esc(w.id)}</td><td>${esc(w.host)}</td><td>${w.running.length}/${w.slots}${w.draining ? " draining" : ""}</td>` +
            `<td class="${w.last_seen_ms_ago < 2000 ? "ok" : "late"}">${w.last_seen_ms_ago < 2000 ? "healthy" : "silent " + human(w.last_seen_ms_ago / 1000)}</td></tr>`).join("") + "</table>";
        }

        const lifecycle = ["classify", "investigate", "plan", "permission_negotiate", "execute", "finalize", "done"];
        async function refreshJobs() {
          const { jobs } = await get("/api/jobs");
          if (!jobs.length) { $("jobs").textContent = "no jobs: `drover job start \"GOAL\" --repository PATH` starts one"; return; }
          const shown = await Promise.all(jobs.slice(-5).reverse().map((j) => get(`/api/jobs/${encodeURIComponent(j.id)}`).then((b) => b.jobs[0])));
          $("jobs").innerHTML = shown.map(renderJob).join("");
        }
        function renderJob(j) {
          const reached = new Set(j.transitions.map((t) => t.to));
          const ended = j.state === "failed" || j.state === "cancelled";
          const states = lifecycle.map((s) => `<span class="state${s === j.state ? " current" + (s === "done" ? " finished" : "") : reached.has(s) ? " passed" : ""}" data-state="${s}">${s.replace("_", " ")}</span>`);
          if (ended) states.push(`<span class="state current ended" data-state="${j.state}">${j.state}</span>`);
          let html = `<div class="job" data-job="${esc(j.id)}" data-current="${esc(j.state)}"><h3>${esc(j.id)} <span class="muted">${esc(j.goal)}</span></h3>` +
            `<div class="lifecycle">${states.join("→")}</div><p class="muted" data-reason>${esc(j.reason)}</p>`;
          if (j.tokens) html += `<p data-artifact="spend"><b>Spent</b> ${j.tokens} tokens${j.cost_usd != null ? ", $" + j.cost_usd.toFixed(2) : ""}` +
            ((j.spend || []).length ? ` <span class="muted">(${j.spend.map((p) => `${esc(p.plan)}: ${p.cost_usd != null ? "$" + p.cost_usd.toFixed(2) : p.tokens + " tokens"}`).join(" · ")})</span>` : "") + "</p>";
          if (j.answer) html += `<p data-artifact="answer"><b>Answer</b> ${esc(j.answer)}</p>`;
          if (j.classification) html += `<p data-artifact="classification"><b>Classified</b> ${esc(j.classification.kind.replace(/_/g, " "))}, ${esc(j.classification.complexity)} complexity: ${esc(j.classification.summary)}</p>`;
          if (j.context) html += `<details data-artifact="context"><summary>Context document</summary><pre class="doc">${esc(j.context)}</pre></details>`;
          if (j.plan) html += `<details data-artifact="plan" open><summary>Plan: ${esc(j.plan.title)} (${j.plan.todos.length} TODOs${j.counts ? ", " + (j.counts.done || 0) + " done" : ""})</summary><table><tr><th>TODO</th><th>depends on</th><th>risk</th><th>checks</th></tr>` +
            j.plan.todos.map((t) => `<tr data-plan-todo="${esc(t.id)}"${(j.skipped || []).includes(t.id) ? ' class="muted" data-skipped' : ""}><td>${esc(t.id)}: ${esc(t.title)}${(j.skipped || []).includes(t.id) ? " (skipped: refused permission)" : ""}</td><td>${esc((t.depends_on || []).join(", "))}</td><td>${esc(t.risk)}</td><td><code>${esc((t.checks || []).map((c) => c.command || c.file).join("; "))}</code></td></tr>`).join("") + "</table></details>";
          if (j.grants && j.grants.length) html += `<p data-artifact="permissions"><b>Permissions</b> ` + j.grants.map((g) => {
            const p = j.permissions, verdict = !p ? "asked" : p.granted.includes(g.id) ? "granted" : "refused";
            return `${esc(g.id)} <span class="muted">(${esc(g.todos.join(", "))})</span>: <span data-grant="${esc(g.id)}">${verdict}</span>`;
          }).join(" · ") + (j.permissions ? ` <span class="muted">by ${esc(j.permissions.decided_by)}</span>` : "") + "</p>";
          html += `<details><summary>History</summary><ol>` + j.transitions.map((t) => `<li>${esc(t.from || "start")} → ${esc(t.to)}: ${esc(t.reason)}</li>`).join("") + "</ol></details></div>";
          return html;
        }

        async function refreshReports() {
          const status = await get("/api/status");
          const ids = new Set(status.plans.map((p) => p.id));
          // A plan's merges (<plan>-merge) and its AI review (<plan>-next) are in its own report.
          const ended = status.plans.filter((p) => p.state !== "running" && !p.id.endsWith("-merge") &&
            !(p.id.endsWith("-next") && ids.has(p.id.slice(0, -5)))).slice(-3).reverse();
          const reports = (await Promise.all(ended.map((p) => get(`/api/report/${encodeURIComponent(p.id)}`).catch(() => null)))).filter((r) => r);
          if (!reports.length) return;
          $("reports").innerHTML = reports.map((r) => {
            const i = r.integration;
            let html = `<div class="job" data-report="${esc(r.plan)}"><h3>${esc(r.title)} <span class="muted">${esc(r.plan)} · ${esc(r.state)}</span></h3>` +
              "<table><tr><th>TODO</th><th>outcome</th><th>merge</th><th>files</th><th>recoveries</th><th>tokens</th></tr>" +
              r.todos.map((t) => `<tr><td>${esc(t.id)}: ${esc(t.title)}</td><td>${esc(t.state)}</td><td>${esc(t.merge || "–")}</td><td>${t.files.length}</td>` +
                `<td>${esc(Object.entries(t.recoveries).map(([k, v]) => k + " ×" + v).join(", ") || "–")}</td><td>${t.tokens}</td></tr>`).join("") + "</table>";
            if (i) html += `<p data-integration><b>${esc(i.branch)}</b> at <code>${esc((i.head || "base").slice(0, 12))}</code>: ${i.merged.length} merged (${esc(i.merged.join(", "))})` +
              (Object.keys(i.left_out).length ? `; left out: ${esc(Object.entries(i.left_out).map(([k, v]) => k + " (" + v + ")").join("; "))}` : "") +
              `</p><p class="muted">tags: ${esc(i.tags.join(", "))}</p>`;
            html += "<ol>" + r.next_steps.map((s) => `<li>${esc(s.action)}${s.command ? ` <code>${esc(s.command)}</code>` : ""}</li>`).join("") + "</ol>";
            const a = r.ai_review;
            if (a) {
              html += `<div data-ai-review="${esc(a.state)}"><h4>AI recommendations <span class="muted">the model's opinion, not checked facts</span></h4>`;
              const rec = a.recommendations;
              if (a.state === "done" && rec) {
                html += `<p class="muted">written by a codex session (${esc(a.model || "model not named")}) that read this report; Drover did not check it</p><p>${esc(rec.summary)}</p>` +
                  [["Tests to add", rec.tests], ["Deployment", rec.deployment], ["Follow-up work", rec.follow_up]].filter(([, items]) => items.length)
                    .map(([title, items]) => `<p><b>${title}</b></p><ul>` + items.map((x) => `<li>${esc(x)}</li>`).join("") + "</ul>").join("");
              } else if (a.state === "failed") {
                html += `<p>The AI review failed: ${esc(a.note || "no reason given")}</p>`;
              } else {
                html += `<p class="muted">under way: ${esc(a.plan)}/${esc(a.todo)}</p>`;
              }
              html += "</div>";
            }
            return html + "</div>";
          }).join("");
        }

        async function refreshInbox() {
          const { items } = await get("/api/inbox");
          if (!items.length) { $("inbox").textContent = "nothing waits for a human"; return; }
          $("inbox").innerHTML = items.map((i) => `<div class="item" data-item="${esc(i.id)}"><p><b>${esc(i.kind)}</b> ${i.job ? `for job ${esc(i.job)}` : `from ${esc(i.plan)}/${esc(i.todo)} on ${esc(i.worker)}`}</p><p>${esc(i.text)}</p>` +
            (i.kind === "permissions"
              ? (i.grants || []).map((g) => `<label><input type="checkbox" data-grant="${esc(g.id)}" checked> ${esc(g.id)} <span class="muted">${esc(g.description)}: ${esc(g.todos.join(", "))}</span></label><br>`).join("") +
                `<label><input type="checkbox" data-option="remember"> remember for this repository</label> <label><input type="checkbox" data-option="replan"> plan again without what is refused</label><br>` +
                `<button class="approve" data-decision="approve">Approve selected</button> <button class="deny" data-decision="deny">Deny all</button>`
              : i.kind === "approval"
              ? `<button class="approve" data-decision="approve">Approve</button> <button class="deny" data-decision="deny">Deny</button>`
              : i.kind === "merge"
              ? `<button class="approve" data-decision="approve">Try the merge again</button> <input type="text" placeholder="why leave it out"> <button class="deny" data-decision="deny">Leave it out</button>`
              : `<input type="text" placeholder="your answer"> <button class="reply" data-decision="reply">Answer</button>`) + "</div>").join("");
        }
        $("inbox").addEventListener("click", async (event) => {
          const button = event.target.closest("button");
          if (!button) return;
          const box = button.closest(".item");
          const input = box.querySelector("input[type=text]");
          const body = { item: box.dataset.item, decision: button.dataset.decision };
          if (input) body.text = input.value;
          const grants = [...box.querySelectorAll("input[data-grant]")];
          if (grants.length) {
            if (body.decision === "approve") body.grants = grants.filter((g) => g.checked).map((g) => g.dataset.grant);
            body.remember = box.querySelector("input[data-option=remember]").checked;
            if (body.decision === "approve") body.replan = box.querySelector("input[data-option=replan]").checked;
          }
          const response = await fetch("/api/answer", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
          const reply = await response.json();
          $("inbox-result").textContent = response.ok ? `sent ${body.decision} for ${body.item}` : `not sent: ${reply.error}`;
          refreshInbox();
        });

        async function refreshReview() {
          const r = await get("/api/review");
          const p = r.progress;
          let eta = `<p>${p.done}/${p.total} done · ${r.velocity.per_hour.toFixed(1)} an hour</p>`;
          if (r.eta) {
            const e = r.eta, max = Math.max(e.p90_seconds, 1), scale = (s) => 10 + 380 * s / max;
            eta += `<p data-eta-p50="${e.p50_seconds}">ETA P50 ${human(e.p50_seconds)} · P90 ${human(e.p90_seconds)} <span class="muted">(${e.bound.replace("_", " ")}, from ${e.samples} finished)</span></p>` +
              `<svg id="eta-chart" viewBox="0 0 400 40" width="100%"><rect x="10" y="14" width="380" height="10" fill="#24303c"/>` +
              `<rect x="10" y="14" width="${scale(e.p50_seconds) - 10}" height="10" fill="var(--ready)"/><rect x="${scale(e.p50_seconds)}" y="14" width="${scale(e.p90_seconds) - scale(e.p50_seconds)}" height="10" fill="var(--assigned)"/>` +
              `<text x="10" y="38" fill="#8a96a3" font-size="10">now</text><text x="${scale(e.p50_seconds) - 10}" y="10" fill="#8a96a3" font-size="10">P50</text><text x="370" y="38" fill="#8a96a3" font-size="10">P90</text></svg>` +
              `<p class="muted">critical path: ${esc(e.critical_path.slice(0, 8).join(" → "))}${e.critical_path.length > 8 ? " …" : ""}</p>`;
          } else if (r.eta_note) {
            eta += `<p class="muted">${esc(r.eta_note)}</p>`;
          }
          $("eta").innerHTML = eta;
          $("review").innerHTML =
            (r.bottlenecks.length ? "<b>Bottlenecks</b><ul>" + r.bottlenecks.map((b) => `<li>${esc(b.kind.replace(/_/g, " "))}: ${esc(b.todo || "")} ${esc(b.reason)}</li>`).join("") + "</ul>" : "") +
            (r.risks.length ? "<b>Risks</b><ul>" + r.risks.map((k) => `<li>${esc(k.branches.join(" & "))}: ${esc(k.reason)}</li>`).join("") + "</ul>" : "") +
            "<b>Next steps</b><ol>" + r.next_steps.map((s) => `<li>${esc(s.action)} <span class="muted">${esc(s.reason)}</span>${s.command ? `<br><code>${esc(s.command)}</code>` : ""}</li>`).join("") + "</ol>";
        }

        function addFeed(e) {
          const subject = e.plan ? ` ${e.plan}${e.todo ? "/" + e.todo : ""}` : "";
          const d = e.data || {};
          const text = d.text || d.reason || d.summary || d.decision || "";
          const line = document.createElement("div");
          line.dataset.seq = e.seq;
          line.dataset.type = e.type;
          line.textContent = `#${e.seq} ${new Date(e.ts).toLocaleTimeString()} ${e.type}${subject}${e.worker ? " @" + e.worker : ""} ${text}`;
          $("feed").prepend(line);
          while ($("feed").childElementCount > 300) $("feed").lastElementChild.remove();
          lastSeq = e.seq;
          $("conn").textContent = `live · event #${lastSeq}`;
        }

        async function onEvent(e) {
          if (e.seq <= lastSeq) return;
          if (e.seq > lastSeq + 1) {
            // A gap: the stream dropped events for this page. Fill it from the log, in order.
            const page = await get(`/api/events?after=${lastSeq}`);
            for (const missed of page.events) if (missed.seq < e.seq && missed.seq > lastSeq) addFeed(missed);
          }
          addFeed(e);
          if (!e.type.startsWith("agent.")) later("status", 200, refreshStatus);
          if (e.type.startsWith("inbox.")) later("inbox", 100, refreshInbox);
          if (e.type.startsWith("job.")) later("jobs", 200, refreshJobs);
          if (e.type === "plan.finalized" || e.type === "plan.review_requested" || e.type === "plan.reviewed") later("reports", 200, refreshReports);
          later("review", 1500, refreshReview);
        }

        function connect() {
          const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?after=${lastSeq}`);
          socket.onopen = () => { $("conn").className = "live"; $("conn").textContent = `live · event #${lastSeq}`; };
          socket.onmessage = (message) => { const e = JSON.parse(message.data); queue = queue.then(() => onEvent(e)).catch(console.error); };
          socket.onclose = () => { $("conn").className = ""; $("conn").textContent = "disconnected: reconnecting…"; setTimeout(connect, 1000); };
        }

        (async () => {
          const status = await refreshStatus();
          lastSeq = status.seq;
          await Promise.all([refreshInbox(), refreshReview(), refreshJobs(), refreshReports()]);
          connect();
        })().catch((e) => { $("conn").textContent = `cannot reach the coordinator: ${e.message}`; });
        </script>
        </body>
        </html>
        """#
}
