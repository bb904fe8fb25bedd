import DroverProtocol
import Foundation
import GRDB

/// The coordinator's durable state in SQLite (WAL): plans, TODO states and leases, processed reports, the event log.
///
/// The coordinator keeps its working state in memory and hands the store everything that changed while handling one
/// batch of messages; ``write(_:)`` commits it in one transaction before any reply is sent. So what a worker is told
/// (an assign with a new epoch, an ack) is always already on disk, and a coordinator killed at any point restarts
/// from a state that its workers' messages are consistent with.
final class Store {
    /// Everything that changed in one batch.
    struct Changes {
        /// New plans, with the JSON of the `submit` body they came in (stored as it came: no second encoding).
        var newPlans: [(record: PlanRecord, submitJSON: String)] = []
        /// Plans whose state changed.
        var planStates: [PlanRecord] = []
        /// TODO rows that changed, written whole.
        var todos: [(key: TodoKey, row: TodoRow)] = []
        var reports: [(leaseID: String, seq: UInt64)] = []
        var events: [(event: Event, json: String)] = []
        /// Each event's topic, in the order of ``events``, when the caller has them (the commit publishes under them
        /// too); computed here otherwise.
        var topics: [String] = []
        /// Jobs that changed, written whole.
        var jobs: [JobRecord] = []
        /// Remembered permission decisions that changed; nil deletes the rule.
        var policyRules: [(repository: String, grant: String, rule: PolicyRule?)] = []
        /// Integrations (merge queues) that changed, written whole.
        var integrations: [MergeQueue.Integration] = []
        /// Reports of plans finalized in this batch, as JSON.
        var planReports: [(plan: String, json: String)] = []
        /// Recovery requests waiting for an advisor that changed; nil deletes one.
        var pendingAdvice: [(id: String, record: PendingAdvice?)] = []

        var isEmpty: Bool {
            newPlans.isEmpty && planStates.isEmpty && todos.isEmpty && reports.isEmpty && events.isEmpty && jobs.isEmpty
                && policyRules.isEmpty && integrations.isEmpty && planReports.isEmpty && pendingAdvice.isEmpty
        }
    }

    /// What a restarted coordinator begins from.
    struct Snapshot {
        var plans: [PlanRecord]
        var todos: [TodoKey: TodoRow]
        var processedReports: Set<String>
        var lastSeq: Int64
        var jobs: [JobRecord] = []
        var policyRules: [PolicyRule] = []
        var integrations: [MergeQueue.Integration] = []
        var pendingAdvice: [String: PendingAdvice] = [:]
    }

    private let database: DatabaseQueue
    private let codec = WireCodec()

    /// Opens (creating if needed) the state file.
    /// - Parameter readOnly: for readers beside a running coordinator (`drover events`): no writes, no migration.
    init(path: String, readOnly: Bool = false) throws {
        if path == ":memory:" {
            database = try DatabaseQueue()
            try Self.migrator.migrate(database)
            return
        }
        var configuration = Configuration()
        // Another process (a coordinator, a reader) may hold the file for a moment: wait rather than fail.
        configuration.busyMode = .timeout(10)
        if readOnly {
            configuration.readonly = true
            database = try DatabaseQueue(path: path, configuration: configuration)
            return
        }
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true)
        configuration.prepareDatabase { db in
            // NORMAL is durable across process crashes in WAL mode; only a power cut can lose the last commits.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        _ = try database.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
        try Self.migrator.migrate(database)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE plans (
                        id TEXT PRIMARY KEY, ord INTEGER NOT NULL, spec TEXT NOT NULL /* the submit body */, state TEXT NOT NULL,
                        submitted_at INTEGER NOT NULL, finished_at INTEGER);
                    CREATE TABLE todos (
                        plan TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, epoch INTEGER NOT NULL,
                        lease_id TEXT, worker TEXT, attempts INTEGER NOT NULL, detail TEXT,
                        PRIMARY KEY (plan, id)) WITHOUT ROWID;
                    CREATE TABLE reports (lease_id TEXT NOT NULL, seq INTEGER NOT NULL,
                        PRIMARY KEY (lease_id, seq)) WITHOUT ROWID;
                    CREATE TABLE events (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, type TEXT NOT NULL,
                        topic TEXT NOT NULL, body TEXT NOT NULL);
                    """
            )
        }
        migrator.registerMigration("v2: recoveries") { db in
            try db.execute(sql: "ALTER TABLE todos ADD COLUMN recoveries TEXT NOT NULL DEFAULT '{}'")
        }
        migrator.registerMigration("v3: paused plans") { db in
            try db.execute(sql: "ALTER TABLE plans ADD COLUMN paused INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v4: work facts") { db in
            try db.execute(sql: "ALTER TABLE todos ADD COLUMN facts TEXT NOT NULL DEFAULT '{}'")
        }
        migrator.registerMigration("v5: jobs") { db in
            try db.execute(
                sql: """
                    CREATE TABLE jobs (id TEXT PRIMARY KEY, ord INTEGER NOT NULL, state TEXT NOT NULL,
                        record TEXT NOT NULL /* the JobRecord as JSON */);
                    CREATE TABLE permission_policy (repository TEXT NOT NULL, grant_id TEXT NOT NULL,
                        rule TEXT NOT NULL /* the PolicyRule as JSON */, PRIMARY KEY (repository, grant_id)) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v6: integrations") { db in
            try db.execute(sql: "CREATE TABLE integrations (plan TEXT PRIMARY KEY, record TEXT NOT NULL /* MergeQueue.Integration */)")
        }
        migrator.registerMigration("v7: plan reports") { db in
            try db.execute(sql: "CREATE TABLE plan_reports (plan TEXT PRIMARY KEY, report TEXT NOT NULL /* PlanReport as JSON */)")
        }
        migrator.registerMigration("v8: raised cost caps") { db in
            try db.execute(sql: "ALTER TABLE plans ADD COLUMN cost_cap REAL")
        }
        migrator.registerMigration("v9: pending advice") { db in
            try db.execute(sql: "CREATE TABLE pending_advice (id TEXT PRIMARY KEY, record TEXT NOT NULL /* PendingAdvice as JSON */)")
        }
        return migrator
    }

    func load() throws -> Snapshot {
        try database.read { db in
            var plans: [PlanRecord] = []
            for row in try Row.fetchAll(
                db,
                sql: "SELECT id, ord, spec, state, submitted_at, finished_at, paused, cost_cap FROM plans ORDER BY ord"
            ) {
                let spec: String = row["spec"]
                let plan = try codec.decode(SubmitBody.self, from: Data(spec.utf8)).plan
                plans.append(
                    PlanRecord(
                        plan: plan,
                        state: PlanRecord.State(rawValue: row["state"]) ?? .running,
                        order: row["ord"],
                        submittedAt: row["submitted_at"],
                        finishedAt: row["finished_at"],
                        paused: row["paused"],
                        costCap: row["cost_cap"]
                    )
                )
            }
            var todos: [TodoKey: TodoRow] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT plan, id, state, epoch, lease_id, worker, attempts, detail, recoveries, facts FROM todos"
            ) {
                let recoveries: String = row["recoveries"]
                let facts: String = row["facts"]
                todos[TodoKey(plan: row["plan"], todo: row["id"])] = TodoRow(
                    state: TodoState(rawValue: row["state"]) ?? .ready,
                    epoch: row["epoch"],
                    leaseID: row["lease_id"],
                    worker: row["worker"],
                    attempts: row["attempts"],
                    detail: row["detail"],
                    recoveries: (try? codec.decode([String: Int].self, from: Data(recoveries.utf8))) ?? [:],
                    facts: (try? codec.decode(WorkFacts.self, from: Data(facts.utf8))) ?? WorkFacts()
                )
            }
            var reports = Set<String>()
            for row in try Row.fetchAll(db, sql: "SELECT lease_id, seq FROM reports") {
                reports.insert(LeaseTable.reportKey(row["lease_id"], UInt64(row["seq"] as Int64)))
            }
            let lastSeq = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM events") ?? 0
            let jobs = try String.fetchAll(db, sql: "SELECT record FROM jobs ORDER BY ord").map {
                try codec.decode(JobRecord.self, from: Data($0.utf8))
            }
            let rules = try String.fetchAll(db, sql: "SELECT rule FROM permission_policy").map {
                try codec.decode(PolicyRule.self, from: Data($0.utf8))
            }
            let integrations = try String.fetchAll(db, sql: "SELECT record FROM integrations").map {
                try codec.decode(MergeQueue.Integration.self, from: Data($0.utf8))
            }
            var pendingAdvice: [String: PendingAdvice] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, record FROM pending_advice") {
                let record: String = row["record"]
                pendingAdvice[row["id"]] = try codec.decode(PendingAdvice.self, from: Data(record.utf8))
            }
            return Snapshot(
                plans: plans,
                todos: todos,
                processedReports: reports,
                lastSeq: lastSeq,
                jobs: jobs,
                policyRules: rules,
                integrations: integrations,
                pendingAdvice: pendingAdvice
            )
        }
    }

    /// Commits one batch of changes in a single transaction.
    func write(_ changes: Changes) throws {
        guard !changes.isEmpty else { return }
        try database.inTransaction { db in
            if !changes.newPlans.isEmpty {
                let statement = try db.cachedStatement(
                    sql: "INSERT OR REPLACE INTO plans (id, ord, spec, state, submitted_at, finished_at) VALUES (?, ?, ?, ?, ?, ?)"
                )
                for (record, submitJSON) in changes.newPlans {
                    try statement.execute(arguments: [
                        record.plan.id, record.order, submitJSON, record.state.rawValue, record.submittedAt, record.finishedAt,
                    ])
                }
            }
            if !changes.planStates.isEmpty {
                let statement = try db.cachedStatement(
                    sql: "UPDATE plans SET state = ?, finished_at = ?, paused = ?, cost_cap = ? WHERE id = ?"
                )
                for record in changes.planStates {
                    try statement.execute(arguments: [
                        record.state.rawValue, record.finishedAt, record.paused, record.costCap, record.plan.id,
                    ])
                }
            }
            if !changes.todos.isEmpty {
                let statement = try db.cachedStatement(
                    sql: """
                        INSERT OR REPLACE INTO todos (plan, id, state, epoch, lease_id, worker, attempts, detail, recoveries, facts)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                )
                let row = RowWriter(statement, in: db)
                for (key, todo) in changes.todos {
                    row.bind(1, key.plan)
                    row.bind(2, key.todo)
                    row.bind(3, todo.state.rawValue)
                    row.bind(4, todo.epoch)
                    row.bind(5, todo.leaseID)
                    row.bind(6, todo.worker)
                    row.bind(7, todo.attempts)
                    row.bind(8, todo.detail)
                    row.bind(9, todo.recoveries.isEmpty ? "{}" : String(decoding: codec.json(todo.recoveries), as: UTF8.self))
                    row.bind(10, todo.facts.json)
                    try row.insert()
                }
            }
            if !changes.reports.isEmpty {
                let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO reports (lease_id, seq) VALUES (?, ?)")
                let row = RowWriter(statement, in: db)
                for report in changes.reports {
                    row.bind(1, report.leaseID)
                    row.bind(2, Int64(report.seq))
                    try row.insert()
                }
            }
            for job in changes.jobs {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO jobs (id, ord, state, record) VALUES (?, ?, ?, ?)",
                    arguments: [job.id, job.order, job.state.rawValue, String(decoding: codec.json(job), as: UTF8.self)]
                )
            }
            for (plan, json) in changes.planReports {
                try db.execute(sql: "INSERT OR REPLACE INTO plan_reports (plan, report) VALUES (?, ?)", arguments: [plan, json])
            }
            for integration in changes.integrations {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO integrations (plan, record) VALUES (?, ?)",
                    arguments: [integration.plan, String(decoding: codec.json(integration), as: UTF8.self)]
                )
            }
            for (id, record) in changes.pendingAdvice {
                if let record {
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO pending_advice (id, record) VALUES (?, ?)",
                        arguments: [id, String(decoding: codec.json(record), as: UTF8.self)]
                    )
                } else {
                    try db.execute(sql: "DELETE FROM pending_advice WHERE id = ?", arguments: [id])
                }
            }
            for (repository, grant, rule) in changes.policyRules {
                if let rule {
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO permission_policy (repository, grant_id, rule) VALUES (?, ?, ?)",
                        arguments: [repository, grant, String(decoding: codec.json(rule), as: UTF8.self)]
                    )
                } else {
                    try db.execute(
                        sql: "DELETE FROM permission_policy WHERE repository = ? AND grant_id = ?",
                        arguments: [repository, grant]
                    )
                }
            }
            if !changes.events.isEmpty {
                let statement = try db.cachedStatement(
                    sql: "INSERT INTO events (seq, ts, type, topic, body) VALUES (?, ?, ?, ?, ?)"
                )
                let row = RowWriter(statement, in: db)
                let topics = changes.topics.count == changes.events.count ? changes.topics : changes.events.map(\.event.topic)
                for ((event, json), topic) in zip(changes.events, topics) {
                    row.bind(1, event.seq)
                    row.bind(2, event.ts)
                    row.bind(3, event.type.rawValue)
                    row.bind(4, topic)
                    row.bind(5, json)
                    try row.insert()
                }
            }
            return .commit
        }
    }

    /// The latest `limit` events of one TODO (its `todo.…` and `agent.…` topics), oldest first.
    func events(of key: TodoKey, limit: Int) throws -> [Event] {
        try database.read { db in
            try String.fetchAll(
                db,
                sql: "SELECT body FROM events WHERE topic IN (?, ?) ORDER BY seq DESC LIMIT ?",
                arguments: ["todo.\(key.plan).\(key.todo)", "agent.\(key.plan).\(key.todo)", limit]
            ).reversed().map { try codec.decode(Event.self, from: Data($0.utf8)) }
        }
    }

    /// A finalized plan's report, as JSON; nil when it has none.
    func planReport(_ plan: String) throws -> Data? {
        try database.read { db in
            try String.fetchOne(db, sql: "SELECT report FROM plan_reports WHERE plan = ?", arguments: [plan]).map { Data($0.utf8) }
        }
    }

    /// Events after `seq`, oldest first, at most `limit`.
    func events(after seq: Int64, limit: Int) throws -> [Event] {
        try database.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [seq, limit])
                .map { try codec.decode(Event.self, from: Data($0.utf8)) }
        }
    }
}
