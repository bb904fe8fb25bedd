import DroverProtocol

/// codex's `item/tool/requestUserInput` server request (experimental; the model's `request_user_input` tool): the
/// questions it asks the user, and the JSON-RPC response that carries their answers back,
/// `{"answers": {<question id>: {"answers": [...]}}}`.
///
/// Each question goes the way the agent's own questions go (``HumanQuestion``): to an operator through the inbox,
/// verbatim with its options, when the TODO's risk or the question's kind asks for a human; otherwise the agent is
/// told to decide itself.
struct UserInputRequest: Equatable, Sendable {
    /// One question, as codex sends it.
    struct Item: Equatable, Sendable {
        var id: String
        var header: String
        var question: String
        /// The choices offered, `label` and `description`.
        var options: [Option]
        /// Whether a free answer besides the options is allowed.
        var isOther: Bool
        /// Whether codex marks the answer secret.
        var isSecret: Bool
    }

    /// A choice offered with a question.
    struct Option: Equatable, Sendable {
        var label: String
        var description: String
    }

    var questions: [Item]

    /// The answer given when the agent may decide itself.
    static let decideYourself = "Use your best judgment and decide yourself; do not wait for an answer."

    /// Reads the request's params; nil when they hold no question with an id.
    init?(params: [String: JSONValue]) {
        guard case .array(let list)? = params["questions"] else { return nil }
        questions = list.compactMap { value -> Item? in
            guard case .object(let question) = value, let id = question["id"]?.stringValue else { return nil }
            var options: [Option] = []
            if case .array(let offered)? = question["options"] {
                for case .object(let option) in offered {
                    options.append(Option(label: option["label"]?.stringValue ?? "", description: option["description"]?.stringValue ?? ""))
                }
            }
            return Item(
                id: id,
                header: question["header"]?.stringValue ?? "",
                question: question["question"]?.stringValue ?? "",
                options: options,
                isOther: question["isOther"] == .bool(true),
                isSecret: question["isSecret"] == .bool(true)
            )
        }
        if questions.isEmpty { return nil }
    }

    /// A question as an operator reads it: its header and text as asked, then its options, one a line.
    static func text(of item: Item) -> String {
        var text = item.header.isEmpty ? item.question : "\(item.header): \(item.question)"
        if !item.options.isEmpty {
            text +=
                "\nOptions:\n"
                + item.options.map { "- \($0.label)\($0.description.isEmpty ? "" : ": \($0.description)")" }.joined(separator: "\n")
            if item.isOther { text += "\n(or any other answer)" }
        }
        if item.isSecret { text += "\n(codex marks the answer secret)" }
        return text
    }

    /// The answers an operator's `answer` gives `item`: the reply's text; an approval without text takes the first
    /// option (the one codex recommends); anything else is no answer.
    static func answers(_ answer: HumanAnswer, to item: Item) -> [String] {
        if let text = answer.text, !text.isEmpty { return [text] }
        if answer.decision == .approve, let first = item.options.first { return [first.label] }
        return []
    }

    /// The JSON-RPC result carrying `answers`, by question id.
    static func response(_ answers: [String: [String]]) -> JSONValue {
        .object(["answers": .object(answers.mapValues { .object(["answers": .array($0.map { .string($0) })]) })])
    }
}
