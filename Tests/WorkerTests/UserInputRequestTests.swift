import DroverProtocol
import Testing

@testable import Worker

/// codex's `item/tool/requestUserInput`: its questions as an operator reads them, and the answers sent back.
@Suite struct UserInputRequestTests {
    let params: [String: JSONValue] = [
        "threadId": "th", "turnId": "t", "itemId": "call-1", "isBlocking": true,
        "questions": .array([
            .object([
                "id": "db", "header": "Database", "question": "Which database should the service use?",
                "options": .array([
                    .object(["label": "Postgres (Recommended)", "description": "what the other services use"]),
                    .object(["label": "SQLite", "description": ""]),
                ]),
                "isOther": true, "isSecret": false,
            ]),
            .object(["id": "token", "header": "", "question": "What is the deploy token?", "isSecret": true]),
            .object(["header": "no id"]),
        ]),
    ]

    @Test func theQuestionsAreReadVerbatimWithTheirOptions() throws {
        let request = try #require(UserInputRequest(params: params))
        #expect(request.questions.map(\.id) == ["db", "token"], "a question with no id cannot be answered")
        #expect(
            UserInputRequest.text(of: request.questions[0])
                == "Database: Which database should the service use?\nOptions:\n- Postgres (Recommended): what the other services use\n- SQLite\n(or any other answer)"
        )
        #expect(UserInputRequest.text(of: request.questions[1]) == "What is the deploy token?\n(codex marks the answer secret)")
        #expect(UserInputRequest(params: ["questions": .array([])]) == nil)
        #expect(UserInputRequest(params: [:]) == nil)
    }

    @Test func theOperatorsAnswerGoesBackAsTheResponse() throws {
        let request = try #require(UserInputRequest(params: params))
        let (db, token) = (request.questions[0], request.questions[1])
        #expect(UserInputRequest.answers(HumanAnswer(decision: .reply, text: "SQLite"), to: db) == ["SQLite"])
        #expect(UserInputRequest.answers(HumanAnswer(decision: .approve), to: db) == ["Postgres (Recommended)"], "the first option")
        #expect(UserInputRequest.answers(HumanAnswer(decision: .approve), to: token).isEmpty)
        #expect(UserInputRequest.answers(HumanAnswer(decision: .deny), to: db).isEmpty)
        #expect(
            UserInputRequest.response(["db": ["SQLite"], "token": []])
                == .object([
                    "answers": .object(["db": .object(["answers": .array(["SQLite"])]), "token": .object(["answers": .array([])])])
                ])
        )
    }

    @Test func aQuestionOnlyAHumanCanAnswerReachesOne() throws {
        let request = try #require(UserInputRequest(params: params))
        let token = UserInputRequest.text(of: request.questions[1])
        #expect(HumanQuestion.reason(for: UserInputRequest.text(of: request.questions[0]), risk: .low, askedBefore: false) == nil)
        #expect(HumanQuestion.reason(for: token, risk: .low, askedBefore: false) == "it needs credentials or access", "a secret")
        #expect(HumanQuestion.reason(for: UserInputRequest.text(of: request.questions[0]), risk: .high, askedBefore: false) != nil)
    }
}
