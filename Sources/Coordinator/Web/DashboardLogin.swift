import DroverProtocol
import Foundation
import Hummingbird
import HummingbirdAuth
import HummingbirdWebSocket
import NIOCore

/// A dashboard request's context: the WebSocket upgrade, the logged-in user (from a bearer token or a session cookie,
/// by hummingbird-auth's authenticators), and the session.
struct DashboardContext: AuthRequestContext, SessionRequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    var identity: DashboardUser?
    let sessions: SessionContext<DashboardUser>

    init(source: Source) {
        coreContext = .init(source: source)
        webSocket = .init()
        identity = nil
        sessions = .init()
    }
}

/// The dashboard's login, when it listens where other machines can reach it: a token (`drover token create`) as a
/// bearer header, or exchanged for a session cookie on the login page. Observers see everything and change nothing;
/// operators answer, approve, steer and cancel. On loopback nobody logs in (the laptop case).
struct DashboardLogin: Sendable {
    let tokens: DashboardTokens

    /// The paths anyone may reach: the login page, and the probes.
    static let open: Set<String> = ["/login", "/healthz", "/readyz"]

    /// Sessions (in memory: a restarted coordinator asks to log in again), bearer tokens, session users, the gate.
    func addMiddleware(to router: Router<DashboardContext>) {
        router.add(
            middleware: SessionMiddleware(
                storage: MemoryPersistDriver(),
                configuration: .init(
                    sessionCookieParameters: .init(name: "drover_session", path: "/", secure: false, sameSite: .strict),
                    defaultSessionExpiration: .seconds(12 * 3600)
                )
            )
        )
        let tokens = self.tokens
        router.add(
            middleware: ClosureAuthenticator<DashboardContext> { request, _ in
                request.headers.bearer.flatMap { tokens.user(for: $0.token) }
            }
        )
        router.add(
            middleware: SessionAuthenticator<DashboardContext, UserSessionClosureRepository<DashboardUser, DashboardUser>>(
                context: DashboardContext.self
            ) { user, _ in
                // A token revoked since the login ends its sessions at their next request.
                (try? tokens.entries())?.contains { $0.name == user.name && $0.role == user.role } == true ? user : nil
            }
        )
        router.add(middleware: Gate())
    }

    func addRoutes(to router: Router<DashboardContext>) {
        let tokens = self.tokens
        router.get("/login") { request, _ in
            let failed = request.uri.queryParameters.get("failed") != nil
            return DashboardAPI.respond(Self.page(failed: failed), type: "text/html; charset=utf-8")
        }
        router.post("/login") { request, context in
            let body = try await request.body.collect(upTo: 4096)
            let form = String(buffer: body)
            let token = form.split(separator: "&").compactMap { field -> String? in
                let parts = field.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0] == "token" else { return nil }
                return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }.first?.trimmingCharacters(in: .whitespaces)
            guard let token, let user = tokens.user(for: token) else {
                return Response(status: .seeOther, headers: [.location: "/login?failed=1"])
            }
            context.sessions.createSession(user)
            return Response(status: .seeOther, headers: [.location: "/"])
        }
        router.post("/logout") { _, context in
            context.sessions.clearSession()
            return Response(status: .seeOther, headers: [.location: "/login"])
        }
    }

    /// Lets in what the user may do: nothing but the open paths without a login (the page sends a browser to the
    /// login page, the API answers 401), and nothing but reading for an observer (403).
    struct Gate: RouterMiddleware {
        typealias Context = DashboardContext

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            if DashboardLogin.open.contains(request.uri.path) { return try await next(request, context) }
            guard let user = context.identity else {
                if request.method == .get, request.uri.path == "/" {
                    return Response(status: .seeOther, headers: [.location: "/login"])
                }
                return DashboardAPI.respond(
                    DashboardAPI.errorJSON(
                        "log in first: a bearer token from `drover token create`, or the login page",
                        code: "unauthorized"
                    ),
                    status: .unauthorized
                )
            }
            guard request.method == .get || request.method == .head || user.role.mayOperate else {
                return DashboardAPI.respond(
                    DashboardAPI.errorJSON("\(user.name) is an observer: observers see everything and change nothing", code: "forbidden"),
                    status: .forbidden
                )
            }
            return try await next(request, context)
        }
    }

    static func page(failed: Bool) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Drover — log in</title>
        <style>body{font:15px system-ui,sans-serif;margin:4em auto;max-width:28em;color:#222}
        input{font:inherit;width:100%;padding:.4em;margin:.4em 0}button{font:inherit;padding:.4em 1.2em}
        .failed{color:#b00020}</style></head>
        <body><h1>Drover</h1>
        <p>Log in with a token made by <code>drover token create --role operator|observer NAME</code> on the coordinator's host.</p>
        \(failed ? #"<p class="failed" id="failed">That token is not one of this coordinator's.</p>"# : "")
        <form method="post" action="/login"><label>Token <input name="token" type="password" autocomplete="off" autofocus></label>
        <button type="submit">Log in</button></form></body></html>
        """
    }
}
