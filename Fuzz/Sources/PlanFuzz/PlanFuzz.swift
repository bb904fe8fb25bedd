import DroverPlans
import DroverProtocol
import Foundation

/// One input: plan text, YAML or JSON (JSON is YAML to the loader). A thrown `PlanError` is fine; a trap is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    if let plan = try? PlanLoader.parse(text) {
        // A plan that loads is one the coordinator accepts and stores: it must encode.
        _ = WireCodec().json(plan)
        // And PlanFileWriter writes it back as a file that loads to the same plan (`drover plan` edits go that way).
        let written = PlanFileWriter.yaml(plan)
        do {
            let again = try PlanLoader.parse(written)
            guard again == plan else { fatalError("the plan written back loads differently:\n\(written)") }
        } catch {
            fatalError("the plan written back does not load (\(error)):\n\(written)")
        }
    }
    return 0
}
