/// Where a codex session's thread is kept between the TODO's sessions: beside its checkpoint, in the TODO's
/// repository (``GitWorkspace/saveThread(_:home:repository:lease:outcome:)``). The lease run gives one to a session
/// that works on a branch (``AgentContext/threads``); with none, a session neither stores nor resumes a thread.
public struct ThreadKeeper: Sendable {
    /// Stores thread `id`, whose rollout is in the `CODEX_HOME` `home`, for the TODO's next session, which goes on
    /// after `outcome`; returns where it went (for people), throws saying what failed.
    var save: @Sendable (_ id: String, _ home: String, _ outcome: String) async throws -> String
    /// Puts the stored thread `id` into the `CODEX_HOME` `home`, where codex finds it by id; throws saying why not.
    var restore: @Sendable (_ id: String, _ home: String) async throws -> Void
}
