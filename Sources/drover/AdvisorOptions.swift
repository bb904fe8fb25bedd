import ArgumentParser
import Coordinator

/// The advisor of stuck TODOs: a read-only codex session asked when the recovery rules have run out.
struct AdvisorOptions: ParsableArguments {
    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case codex, none
    }

    @Option(help: "Who is asked when the recovery rules have run out for a TODO: codex (a read-only session on a worker) or none.")
    var advisor: Kind = .codex
    @Option(help: "Pieces of advice per TODO.") var advisorLimit = 2
    @Option(help: "The advisor session's token budget per piece of advice (0: only its turn budget).") var advisorTokens = 0
    @Option(help: "The model the advisor runs (default: the workers' own).") var advisorModel: String?
    @Option(help: "A Responses API base URL for the advisor's model (default: the workers' own provider).")
    var advisorModelBaseUrl: String?

    func check() throws {
        guard (1...20).contains(advisorLimit) else {
            throw ValidationError("--advisor-limit must be between 1 and 20, not \(advisorLimit)")
        }
        guard advisorTokens >= 0 else { throw ValidationError("--advisor-tokens must not be negative") }
        if let model = advisorModel, model.isEmpty || model.utf8.count > 200 {
            throw ValidationError("--advisor-model must be 1 to 200 characters")
        }
        if let url = advisorModelBaseUrl, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ValidationError("--advisor-model-base-url must be an http or https URL, e.g. http://127.0.0.1:8080/v1, not \(url)")
        }
    }

    var policy: AdvisorPolicy {
        AdvisorPolicy(
            enabled: advisor == .codex,
            limit: advisorLimit,
            tokens: advisorTokens > 0 ? advisorTokens : nil,
            model: advisorModel,
            modelBaseURL: advisorModelBaseUrl
        )
    }
}
