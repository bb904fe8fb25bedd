/// Model tokens, split the way prices are: input (of which some was cached) and output. Codex reports a thread's
/// running total after each turn; a session's usage is what its threads' totals grew by.
public struct TokenUsage: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case input, cachedInput = "cached_input", output
    }

    /// Input tokens, cached ones included.
    public var input: Int64
    /// The input tokens served from the provider's cache (usually cheaper).
    public var cachedInput: Int64
    /// Output tokens, reasoning included.
    public var output: Int64

    public init(input: Int64 = 0, cachedInput: Int64 = 0, output: Int64 = 0) {
        self.input = input
        self.cachedInput = cachedInput
        self.output = output
    }

    public static let zero = TokenUsage()

    /// Input and output: what a token budget counts.
    public var total: Int64 { input + output }

    public static func + (a: TokenUsage, b: TokenUsage) -> TokenUsage {
        TokenUsage(input: a.input + b.input, cachedInput: a.cachedInput + b.cachedInput, output: a.output + b.output)
    }

    /// What is left of `self` once `counted` is taken away; never negative.
    public func subtracting(_ counted: TokenUsage) -> TokenUsage {
        TokenUsage(
            input: max(0, input - counted.input),
            cachedInput: max(0, cachedInput - counted.cachedInput),
            output: max(0, output - counted.output)
        )
    }

    /// What `later`, a running total, grew by since `self`; never negative (a total that went down started again).
    public func growth(to later: TokenUsage) -> TokenUsage {
        guard later.input >= input, later.cachedInput >= cachedInput, later.output >= output else { return later }
        return TokenUsage(input: later.input - input, cachedInput: later.cachedInput - cachedInput, output: later.output - output)
    }
}
