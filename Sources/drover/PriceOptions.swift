import ArgumentParser
import Coordinator

/// What model tokens cost: the coordinator turns the tokens workers report into cost per TODO and plan.
struct PriceOptions: ParsableArguments {
    @Option(
        name: .customLong("price"),
        help:
            "A model's prices in US dollars per million tokens, as MODEL=INPUT,CACHED_INPUT,OUTPUT (repeatable), e.g. gpt-5.5=1.25,0.125,10."
    )
    var prices: [String] = []

    var table: PriceTable {
        get throws {
            var table = PriceTable()
            for text in prices {
                switch PriceTable.price(text) {
                case .success(let (model, price)): table.prices[model] = price
                case .failure(let error): throw ValidationError("--price \(error)")
                }
            }
            return table
        }
    }
}
