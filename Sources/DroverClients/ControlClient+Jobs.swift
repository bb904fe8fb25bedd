import DroverProtocol

/// The control requests about jobs, their permissions and the remembered policy, each with its reply's type.
extension ControlClient {
    /// Starts a job from `goal` in `repository`; returns the job as created.
    /// - Parameters:
    ///   - base: the branch its work starts from (nil: the repository's default branch).
    ///   - id: the job's id (nil: the coordinator makes one).
    /// - Throws: ``ProtocolError`` when the coordinator refuses it (a job with that id exists, a field is bad).
    public func startJob(goal: String, repository: String, base: String? = nil, id: String? = nil) async throws -> JobView {
        try await oneJob(JobRequest(action: .start, job: id, goal: goal, repository: repository, base: base))
    }

    /// Every job, newest last, without their transitions.
    public func jobs() async throws -> [JobView] {
        try await request(.job, JobRequest(action: .list), as: JobsBody.self).jobs
    }

    /// One job with its history and artifacts.
    /// - Throws: ``ProtocolError`` when there is no such job.
    public func job(_ id: String) async throws -> JobView {
        try await oneJob(JobRequest(action: .show, job: id))
    }

    /// Cancels a job; returns it as it is after the cancellation.
    public func cancelJob(_ id: String) async throws -> JobView {
        try await oneJob(JobRequest(action: .cancel, job: id))
    }

    private func oneJob(_ request: JobRequest) async throws -> JobView {
        let jobs = try await self.request(.job, request, as: JobsBody.self).jobs
        guard let job = jobs.first else {
            throw DroverError(.notFound, "the coordinator answered \(request.action) with no job")
        }
        return job
    }

    /// The remembered permission decisions: all, or those of one repository.
    public func policy(repository: String? = nil) async throws -> [PolicyRule] {
        try await request(.policy, PolicyRequest(action: .list, repository: repository), as: PolicyBody.self).rules
    }

    /// Forgets a repository's remembered decisions (all, or the one about `grant`); returns those forgotten.
    public func forgetPolicy(repository: String, grant: String? = nil) async throws -> [PolicyRule] {
        try await request(.policy, PolicyRequest(action: .forget, repository: repository, grant: grant), as: PolicyBody.self)
            .rules
    }

    /// What waits in the inbox.
    public func inbox() async throws -> [InboxItem] {
        try await request(.inbox, EmptyBody(), as: InboxBody.self).items
    }

    /// Approves a `permissions` item: every grant when `grants` is nil, else those (the rest are refused, and the
    /// TODOs that need them skipped, or with `replan` the plan made again without them). `remember` keeps the
    /// decision as policy for the job's repository.
    /// - Throws: ``ProtocolError`` when the coordinator refuses it (no such item, a grant the item does not ask for).
    @discardableResult
    public func approvePermissions(item: String, grants: [String]? = nil, replan: Bool = false, remember: Bool = false)
        async throws -> AnswerBody
    {
        try await answer(
            AnswerBody(item: item, decision: .approve, grants: grants, replan: replan ? true : nil, remember: remember ? true : nil)
        )
    }

    /// Refuses every grant of a `permissions` item: the job ends cancelled.
    @discardableResult
    public func denyPermissions(item: String, remember: Bool = false) async throws -> AnswerBody {
        try await answer(AnswerBody(item: item, decision: .deny, remember: remember ? true : nil))
    }

    /// Answers an inbox item; the reply repeats the answer.
    /// - Throws: ``ProtocolError`` when the coordinator refuses it (no such item, grants the item does not ask for).
    @discardableResult
    public func answer(_ answer: AnswerBody) async throws -> AnswerBody {
        try await request(.answer, answer, as: AnswerBody.self)
    }
}
