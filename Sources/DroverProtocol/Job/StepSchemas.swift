/// The JSON Schema of each step's answer, given to codex (`--output-schema`, or the app-server turn's
/// `outputSchema`). Written for the Responses API's strict mode: every object lists all its properties as required
/// and allows no others; optional values are nullable.
extension JobStep {
    /// The JSON Schema of the step's answer.
    public var schema: JSONValue { answer.schema }
}

extension AnswerStep {
    /// The JSON Schema of the answer.
    public var schema: JSONValue {
        switch self {
        case .classify:
            Schema.object([
                "kind": Schema.enumeration(Classification.Kind.all.map(\.rawValue)),
                "complexity": Schema.enumeration(Classification.complexities),
                "needs_investigation": .object(["type": "boolean"]),
                "summary": Schema.string,
                "answer": .object(["type": .array(["string", "null"])]),
            ])
        case .investigate:
            Schema.object([
                "summary": Schema.string, "layout": Schema.string, "conventions": Schema.string, "constraints": Schema.string,
                "build": Schema.string, "test": Schema.string, "files": Schema.strings, "risks": Schema.strings,
            ])
        case .plan:
            Schema.object([
                "title": Schema.string,
                "todos": .object([
                    "type": "array",
                    "items": Schema.object([
                        "id": .object(["type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"]),
                        "title": Schema.string,
                        "prompt": Schema.string,
                        "depends_on": Schema.strings,
                        "checks": Schema.strings,
                        "risk": Schema.enumeration(Risk.allCases.map(\.rawValue)),
                        "permissions": Schema.object([
                            "sandbox": Schema.enumeration(Permissions.sandboxes),
                            "network": .object(["type": "boolean"]),
                            "writable": Schema.strings,
                        ]),
                        "estimate_minutes": .object(["type": "number"]),
                        "files": Schema.strings,
                    ]),
                ]),
            ])
        case .recommend:
            Schema.object([
                "summary": Schema.string, "tests": Schema.strings, "deployment": Schema.strings, "follow_up": Schema.strings,
            ])
        case .advise:
            Schema.object([
                "diagnosis": Schema.string, "next_instruction": Schema.string, "needs_human": .object(["type": "boolean"]),
                "question_for_human": Schema.string, "reason": Schema.string,
            ])
        }
    }
}

private enum Schema {
    static let string: JSONValue = .object(["type": "string"])
    static let strings: JSONValue = .object(["type": "array", "items": string])

    static func enumeration(_ values: [String]) -> JSONValue { .object(["type": "string", "enum": .array(values.map { .string($0) })]) }

    static func object(_ properties: [String: JSONValue]) -> JSONValue {
        .object([
            "type": "object",
            "properties": .object(properties),
            "required": .array(properties.keys.sorted().map { .string($0) }),
            "additionalProperties": false,
        ])
    }
}
