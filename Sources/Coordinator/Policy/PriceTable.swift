public import DroverProtocol
import Foundation

/// What model tokens cost, per model, in US dollars per million tokens: input, cached input, output. The workers
/// report tokens split this way (``TokenUsage``) with the model that used them; the coordinator turns them into cost
/// per TODO, plan and job. Prices are the operator's to give (`--price MODEL=INPUT,CACHED,OUTPUT`): Drover ships
/// none, and a model with no price has no cost, only tokens.
public struct PriceTable: Sendable, Equatable {
    /// One model's prices, in dollars per million tokens.
    public struct Price: Sendable, Equatable {
        public var input: Double
        public var cachedInput: Double
        public var output: Double

        public init(input: Double, cachedInput: Double, output: Double) {
            self.input = input
            self.cachedInput = cachedInput
            self.output = output
        }
    }

    public var prices: [String: Price]

    public init(_ prices: [String: Price] = [:]) { self.prices = prices }

    /// What `usage` cost on `model`; nil when the model has no price.
    public func cost(_ usage: TokenUsage, model: String?) -> Double? {
        guard let model, let price = prices[model] else { return nil }
        let cached = min(usage.cachedInput, usage.input)
        let dollars = Double(usage.input - cached) * price.input + Double(cached) * price.cachedInput + Double(usage.output) * price.output
        return dollars / 1_000_000
    }

    /// The prices of `model` in words, for an operator deciding about a cost cap.
    /// With no model named, the whole table.
    public func describe(_ model: String?) -> String {
        guard let model else {
            return "prices: " + prices.keys.sorted().map { describe($0) }.joined(separator: "; ")
        }
        guard let price = prices[model] else { return "no price known for model \(model)" }
        return "\(model) at $\(Self.number(price.input)) input, $\(Self.number(price.cachedInput)) cached input, "
            + "$\(Self.number(price.output)) output per million tokens"
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int64(value)) : String(value)
    }

    /// Reads `MODEL=INPUT,CACHED,OUTPUT` (dollars per million tokens); the error names what is wrong.
    public static func price(_ text: String) -> Result<(model: String, price: Price), PriceError> {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else { return .failure(PriceError("\(text) is not MODEL=INPUT,CACHED,OUTPUT")) }
        let numbers = parts[1].split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard numbers.count == 3, let input = numbers[0], let cached = numbers[1], let output = numbers[2],
            [input, cached, output].allSatisfy({ $0 >= 0 && $0.isFinite })
        else {
            return .failure(
                PriceError(
                    "\(text): the prices must be three numbers of dollars per million tokens, none negative, e.g. gpt-5.5=1.25,0.125,10"
                )
            )
        }
        return .success((parts[0], Price(input: input, cachedInput: cached, output: output)))
    }

    /// A price that cannot be read.
    public struct PriceError: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
