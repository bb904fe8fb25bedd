import DroverProtocol
import Foundation
import Testing

/// The dashboard's login when it listens beyond loopback, through a real coordinator and curl: tokens made with
/// `drover token create`, a bearer header or a session cookie from the login page; observers read, operators act.
@Suite(.timeLimit(.minutes(2)), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs curl"))
struct DashboardLoginTests {
    /// `curl -s -i ARGUMENTS`: the status code and the whole response, headers included.
    private func curl(_ cluster: Cluster, _ arguments: [String]) async throws -> (status: Int, response: String) {
        let process = try cluster.startCommand("curl", ["/usr/bin/curl", "-s", "-i", "--max-time", "20"] + arguments)
        _ = try await process.wait(timeout: .seconds(30))
        let response = process.output
        let status = response.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, response)
    }

    private func token(_ cluster: Cluster, _ name: String, role: String) async throws -> String {
        let process = try cluster.start(
            "token-\(name)",
            ["token", "create", name, "--role", role, "--state-dir", cluster.stateDir, "--json"]
        )
        #expect(try await process.wait() == 0, "\(process.output)")
        let json = try JSONSerialization.jsonObject(with: Data(process.output.utf8)) as? [String: String]
        return try #require(json?["token"])
    }

    @Test func tokensLogInAndObserversChangeNothing() async throws {
        try await Cluster.with { cluster in
            try await cluster.startCoordinator(extra: ["--http", "0.0.0.0:0"])
            let base = try #require(cluster.dashboard).replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
            let alice = try await token(cluster, "alice", role: "operator")
            let bob = try await token(cluster, "bob", role: "observer")
            #expect(alice.hasPrefix("drv_") && alice != bob)
            let kept = try String(contentsOfFile: "\(cluster.stateDir)/dashboard-tokens.json", encoding: .utf8)
            #expect(!kept.contains(alice) && !kept.contains(bob), "kept hashed")

            // Nobody logged in: the API says so, the page sends the browser to the login page; the probes stay open.
            #expect(try await curl(cluster, [base + "api/status"]).status == 401)
            let page = try await curl(cluster, [base])
            #expect(page.status == 303 && page.response.lowercased().contains("location: /login"), "\(page.response)")
            #expect(try await curl(cluster, [base + "healthz"]).status == 200)
            #expect(try await curl(cluster, [base + "api/status", "-H", "Authorization: Bearer drv_wrong"]).status == 401)

            // An observer reads, and is refused what changes things; an operator is not.
            let steer = #"{"plan":"p","todo":"t","action":"steer","text":"go on"}"#
            let post = ["-X", "POST", "-H", "Content-Type: application/json", "--data", steer, base + "api/todo"]
            #expect(try await curl(cluster, [base + "api/status", "-H", "Authorization: Bearer \(bob)"]).status == 200)
            let refused = try await curl(cluster, ["-H", "Authorization: Bearer \(bob)"] + post)
            #expect(refused.status == 403 && refused.response.contains("observer"), "\(refused.response)")
            let allowed = try await curl(cluster, ["-H", "Authorization: Bearer \(alice)"] + post)
            #expect(![401, 403].contains(allowed.status), "\(allowed.response)")

            // The login page trades a token for a session cookie.
            let jar = "\(cluster.directory)/cookies"
            let wrong = try await curl(cluster, ["-c", jar, "--data-urlencode", "token=drv_nope", base + "login"])
            #expect(wrong.status == 303 && wrong.response.lowercased().contains("location: /login?failed=1"))
            let login = try await curl(cluster, ["-c", jar, "--data-urlencode", "token=\(bob)", base + "login"])
            #expect(login.status == 303 && login.response.lowercased().contains("set-cookie: drover_session="), "\(login.response)")
            #expect(try await curl(cluster, ["-b", jar, base + "api/status"]).status == 200)
            #expect(try await curl(cluster, ["-b", jar, base]).status == 200)
            #expect(try await curl(cluster, ["-b", jar] + post).status == 403)

            // A revoked token ends its sessions at their next request.
            let revoke = try cluster.start("revoke", ["token", "revoke", "bob", "--state-dir", cluster.stateDir])
            #expect(try await revoke.wait() == 0)
            #expect(try await curl(cluster, ["-b", jar, base + "api/status"]).status == 401)
            #expect(try await curl(cluster, [base + "api/status", "-H", "Authorization: Bearer \(bob)"]).status == 401)
        }
    }

    @Test func onLoopbackNobodyLogsIn() async throws {
        try await Cluster.with { cluster in
            try await cluster.startCoordinator()
            let base = try #require(cluster.dashboard)
            #expect(try await curl(cluster, [base + "api/status"]).status == 200)
        }
    }

    /// Both roles log in through the page in a real headless Chromium; the live feed works with the session cookie,
    /// and the page's own action is refused for the observer only.
    @Test(.enabled(if: DashboardTests.chromium != nil, "needs Chromium (apt install chromium)"), arguments: ["operator", "observer"])
    func bothRolesLogInThroughThePageInABrowser(role: String) async throws {
        try await Cluster.with { cluster in
            try await cluster.startCoordinator(extra: ["--http", "0.0.0.0:0"])
            try cluster.startWorker("w1")
            try await cluster.waitForStatus("the worker to register") { $0.workers.count == 1 }
            let secret = try await token(cluster, "someone", role: role)
            let base = try #require(cluster.dashboard).replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
            let script = DashboardTests.repository.appendingPathComponent("Tests/Browser/login_check.py").path
            let browser = try cluster.startCommand(
                "chromium",
                [
                    "/usr/bin/env", "python3", script, "--url", base, "--chromium", try #require(DashboardTests.chromium), "--token",
                    secret,
                    "--role", role, "--worker", "w1", "--screenshot", "\(cluster.directory)/login-\(role).png",
                ]
            )
            #expect(try await browser.wait(timeout: .seconds(90)) == 0, "\(browser.output)")
            #expect(browser.output.contains("REFUSED") && browser.output.contains("LOGGED IN"))
            let refused = browser.output.contains("ACTION 403") || browser.output.contains("ACTION 401")
            #expect(role == "observer" ? browser.output.contains("ACTION 403") : !refused, "\(browser.output)")
        }
    }
}
