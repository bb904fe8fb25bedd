import Foundation

extension PlanReport {
    /// A plan's AI review: a read-only codex session that read the report and the repository and recommends tests,
    /// deployment notes and follow-up work (``Recommendations``). It runs as the plan `<plan>-next` when asked for
    /// (`plan_report` with `ai`), and what it said is kept in the report with who said it and when. It is the
    /// model's opinion, not a fact Drover checked, and the Markdown says so.
    public struct AIReview: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey {
            case state, plan, todo, requestedAt = "requested_at", madeAt = "made_at", model, recommendations, note
        }

        /// Where the review stands.
        public struct State: WireWord {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }

            /// Asked for: the reviewer's TODO waits for a worker, or runs.
            public static let running = State(rawValue: "running")
            /// The recommendations are here.
            public static let done = State(rawValue: "done")
            /// The reviewer failed or escalated; ``note`` says why. Asking again starts another.
            public static let failed = State(rawValue: "failed")
        }

        public var state: State
        /// The reviewer's plan: `<plan>-next`.
        public var plan: String
        /// The reviewer's TODO in that plan: `review`, then `review-2`… for each review asked for again.
        public var todo: String
        /// Milliseconds since the Unix epoch.
        public var requestedAt: Int64
        /// When the recommendations (or the failure) came; milliseconds since the Unix epoch.
        public var madeAt: Int64?
        /// The model that made them, as its worker named it.
        public var model: String?
        public var recommendations: Recommendations?
        /// Why the review failed.
        public var note: String?

        public init(
            state: State,
            plan: String,
            todo: String,
            requestedAt: Int64,
            madeAt: Int64? = nil,
            model: String? = nil,
            recommendations: Recommendations? = nil,
            note: String? = nil
        ) {
            self.state = state
            self.plan = plan
            self.todo = todo
            self.requestedAt = requestedAt
            self.madeAt = madeAt
            self.model = model
            self.recommendations = recommendations
            self.note = note
        }

        /// The heading of the review's section: it says whose opinion this is.
        public static let heading = "## AI recommendations: the model's opinion, not checked facts"

        /// The review's section of the report's Markdown.
        func markdownLines(plan report: String) -> [String] {
            var lines = [Self.heading, ""]
            switch state {
            case .done:
                guard let recommendations else { break }
                let made = madeAt.map { " on " + Self.date($0) } ?? ""
                lines.append(
                    "> A codex session (\(model.map { "model `\($0)`" } ?? "model not named")) read this report and the repository\(made) "
                        + "and wrote what follows. It is the model's opinion: Drover did not check any of it."
                )
                lines += ["", recommendations.summary]
                for (title, items) in [
                    ("Tests to add", recommendations.tests), ("Deployment", recommendations.deployment),
                    ("Follow-up work", recommendations.followUp),
                ] where !items.isEmpty {
                    lines += ["", "### \(title)", ""] + items.map { "- \($0)" }
                }
            case .failed:
                lines.append(
                    "The AI review failed: \(note ?? "no reason given"). The report above stands as it was; "
                        + "`drover plan report \(report) --ai` asks for another review."
                )
            default:
                lines.append("An AI review is under way (`\(plan)/\(todo)`); `drover plan report \(report) --ai` waits for it.")
            }
            return lines
        }

        private static func date(_ milliseconds: Int64) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
        }
    }
}
