import DroverProtocol

/// Permission decisions remembered as policy, per repository and grant (`drover answer --remember`). A job whose
/// plan needs only remembered grants is not asked again.
struct PermissionMemory {
    private(set) var rules: [Key: PolicyRule] = [:]
    private var changed: Set<Key> = []

    struct Key: Hashable, Sendable {
        var repository: String
        var grant: String
    }

    var hasChanges: Bool { !changed.isEmpty }

    /// Every rule, by repository then grant; only `repository`'s when given.
    func list(repository: String? = nil) -> [PolicyRule] {
        rules.values.filter { repository == nil || $0.repository == repository }
            .sorted { ($0.repository, $0.grant) < ($1.repository, $1.grant) }
    }

    /// The remembered decision on `grant` for `repository`.
    func decision(on grant: String, in repository: String) -> Decision? {
        rules[Key(repository: repository, grant: grant)]?.decision
    }

    mutating func restore(_ rule: PolicyRule) { rules[Key(repository: rule.repository, grant: rule.grant)] = rule }

    /// Remembers a decision (replacing an older one on the same grant).
    mutating func remember(_ rule: PolicyRule) {
        let key = Key(repository: rule.repository, grant: rule.grant)
        rules[key] = rule
        changed.insert(key)
    }

    /// Forgets a repository's rules, or one of them; returns what was forgotten.
    mutating func forget(repository: String, grant: String?) -> [PolicyRule] {
        let gone = list(repository: repository).filter { grant == nil || $0.grant == grant }
        for rule in gone {
            let key = Key(repository: rule.repository, grant: rule.grant)
            rules[key] = nil
            changed.insert(key)
        }
        return gone
    }

    /// For the store: rules to write (a key with no rule is deleted).
    mutating func takeChanges(into changes: inout Store.Changes) {
        changes.policyRules = changed.map { ($0.repository, $0.grant, rules[$0]) }
        changed.removeAll(keepingCapacity: true)
    }
}
