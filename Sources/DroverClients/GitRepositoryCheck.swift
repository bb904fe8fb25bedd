import DroverProtocol
import Foundation
import Synchronization

/// Where a job's repository is, as an operator names it: a directory on this machine, or a URL (`https://…`,
/// `ssh://…`, `file://…`, or git's `user@host:path`).
public enum RepositoryLocation: Sendable, Equatable {
    /// A local directory, as an absolute path.
    case local(String)
    case remote(String)

    /// How git would read `text`: a URL when it has a scheme or a colon before its first slash, else a path
    /// (made absolute against `directory`).
    public init(_ text: String, relativeTo directory: String = FileManager.default.currentDirectoryPath) {
        let beforeSlash = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        if text.contains("://") || beforeSlash.contains(":") {
            self = .remote(text)
        } else {
            let absolute = text.hasPrefix("/") ? text : (directory as NSString).appendingPathComponent(text)
            self = .local((absolute as NSString).standardizingPath)
        }
    }

    /// What is passed on to the coordinator: the absolute path, or the URL.
    public var argument: String {
        switch self {
        case .local(let path), .remote(let path): return path
        }
    }
}

/// Checks, before a job is started, what the client can check better than the coordinator: that a local
/// repository exists and is a git repository (answered with its top directory), and that the base branch exists.
public enum GitRepositoryCheck {
    /// The repository to name in the job request, once `text` and `base` are checked.
    /// - Throws: ``DroverError`` (`git`, or `not_found`) saying what is wrong and what to do.
    public static func check(
        repository text: String,
        base: String?,
        relativeTo directory: String = FileManager.default.currentDirectoryPath,
        timeout: Duration = .seconds(20)
    ) throws -> String {
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DroverError(.notFound, "--repository is empty: give the path or URL of the git repository the job works in")
        }
        if let base, !GitRef.isValidBranch(base) {
            throw DroverError(.git, "--base \"\(base)\" is not a valid branch name: give a branch of the repository, e.g. main")
        }
        var repository = text
        switch RepositoryLocation(text, relativeTo: directory) {
        case .local(let path):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw DroverError(
                    .notFound,
                    "the repository \(path) does not exist: give the path of a git repository (or its URL) with --repository"
                )
            }
            guard isDirectory.boolValue else {
                throw DroverError(.notFound, "the repository \(path) is a file, not a directory: give the path of a git repository")
            }
            let bare = try git(["-C", path, "rev-parse", "--is-bare-repository", "--absolute-git-dir"], timeout: timeout)
            guard bare.status == 0 else {
                throw DroverError(
                    .git,
                    "\(path) is not a git repository: give the path of one with --repository, or make this one with `git init`"
                )
            }
            let lines = bare.output.split(separator: "\n").map(String.init)
            if lines.first == "true" {
                // A bare repository has no top directory: its git directory is the repository.
                repository = lines.count > 1 ? lines[1] : path
            } else {
                let top = try git(["-C", path, "rev-parse", "--show-toplevel"], timeout: timeout)
                guard top.status == 0, !top.output.isEmpty else {
                    throw DroverError(
                        .git,
                        "\(path) is inside a git directory, not a work tree: give the repository's top directory with --repository"
                    )
                }
                repository = top.output
            }
        case .remote(let url):
            repository = url
        }
        if let base { try requireBranch(base, in: repository, timeout: timeout) }
        return repository
    }

    /// How a job names the repository `text`: a local git repository by its top directory, another local path as
    /// an absolute path, a URL as it is. Never fails: for looking up what was kept under that name.
    public static func name(of text: String) -> String {
        (try? check(repository: text, base: nil, timeout: .seconds(5))) ?? RepositoryLocation(text).argument
    }

    /// Fails unless `repository` has the branch `base` (asked with `git ls-remote --heads`).
    static func requireBranch(_ base: String, in repository: String, timeout: Duration) throws {
        let heads = try git(["ls-remote", "--heads", repository, "refs/heads/\(base)"], timeout: timeout)
        guard heads.status == 0 else {
            let detail = heads.error.split(separator: "\n").first.map { ": \($0)" } ?? ""
            throw DroverError(.git, "cannot list the branches of \(repository)\(detail); check the path or URL and your access to it")
        }
        guard heads.output.split(separator: "\n").contains(where: { $0.hasSuffix("\trefs/heads/\(base)") }) else {
            let branches =
                (try? git(["ls-remote", "--heads", repository], timeout: timeout))?.output
                .split(separator: "\n").compactMap { $0.split(separator: "\t").last?.replacingOccurrences(of: "refs/heads/", with: "") }
                ?? []
            let known =
                branches.isEmpty
                ? "it has no branches yet (commit something first)" : "its branches: \(branches.prefix(10).joined(separator: ", "))"
            throw DroverError(
                .notFound,
                "the repository \(repository) has no branch \"\(base)\" (\(known)): give one of them with --base, or leave --base out for the default branch"
            )
        }
    }

    /// A git command's exit status and output.
    struct Result {
        var status: Int32
        var output: String
        var error: String
    }

    /// Runs git with `arguments`, never asking for credentials, stopped after `timeout`.
    static func git(_ arguments: [String], timeout: Duration) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["GIT_SSH_COMMAND"] = environment["GIT_SSH_COMMAND"] ?? "ssh -o BatchMode=yes"
        process.environment = environment
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw DroverError(.git, "cannot run git (\(error.localizedDescription)): install git (apt-get install git)")
        }
        let pid = process.processIdentifier
        let timedOut = Flag()
        let timer = DispatchWorkItem {
            timedOut.set()
            kill(pid, SIGKILL)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout / .milliseconds(1))), execute: timer)
        // Both pipes are drained before the wait, so a chatty git cannot block on a full pipe.
        let errorText = Captured()
        let errorHandle = error.fileHandleForReading
        let drained = DispatchGroup()
        drained.enter()
        DispatchQueue.global().async {
            errorText.data.withLock { $0 = errorHandle.readDataToEndOfFile() }
            drained.leave()
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        timer.cancel()
        drained.wait()
        if timedOut.isSet {
            throw DroverError(.git, "git \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        return Result(
            status: process.terminationStatus,
            output: String(decoding: outputData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
            error: errorText.data.withLock { String(decoding: $0, as: UTF8.self) }
        )
    }
}

/// Bytes read on another thread.
private final class Captured: Sendable {
    let data = Mutex(Data())
}

/// A flag set once, from any thread.
private final class Flag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
