import DroverProtocol
import Foundation
import Worker

/// One input: a chunk of `codex exec --json` output, split into lines as the worker splits codex's stdout; every line
/// is parsed and turned into the agent event the coordinator is sent. Nothing here may trap, whatever codex prints.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var splitter = LineSplitter()
    let data = Data(UnsafeBufferPointer(start: start, count: count))
    // Fed in two pieces, so that a line split across reads is covered too.
    let cut = count / 2
    let lines = splitter.lines(adding: data.prefix(cut)) + splitter.lines(adding: data.dropFirst(cut) + Data("\n".utf8))
    for line in lines {
        guard let event = CodexExecEvent(line: line) else { continue }
        _ = event.agentEvent
    }
    return 0
}
