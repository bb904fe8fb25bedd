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
    @Option(
        help: "Dollars a plan may spend (by the --price table) before it is paused and the operators are asked to raise the cap or stop it."
    )
    var planCostCap: Double?

    var table: PriceTable {
        get throws {
            if let planCostCap, !(planCostCap > 0 && planCostCap.isFinite) {
                throw ValidationError("--plan-cost-cap must be a positive number of dollars, not \(planCostCap)")
            }
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
