import DroverProtocol
import DroverTransport
import Foundation
import Testing

@Suite("Redacting secrets") struct RedactorTests {
    let redactor = Redactor()

    static let planted: [(String, String)] = [
        ("openai", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"),
        ("anthropic", "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx"),
        ("github", "ghp_0123456789abcdefghijABCDEFGHIJklmnop"),
        ("github fine-grained", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"),
        ("aws key id", "AKIAIOSFODNN7EXAMPLE"),
        ("slack", "xoxb-123456789012-abcdefABCDEF"),
        ("google", "AIzaSyA1234567890abcdefghijklmnopqrstuv"),
        ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    ]

    @Test(arguments: planted) func aKnownFormatIsTakenOutAndTheTextAroundItKept(kind: String, secret: String) {
        let text = "step 3: export KEY_VALUE \(secret) and go on"
        let redacted = redactor.redact(text)
        #expect(!redacted.contains(secret), "\(kind)")
        #expect(redacted == "step 3: export KEY_VALUE [REDACTED] and go on", "\(kind)")
    }

    @Test func bearerTokensPrivateKeysAndSettingsKeepWhatNamesThem() {
        #expect(redactor.redact("Authorization: Bearer abcdefghijklmnop0123456789") == "Authorization: Bearer [REDACTED]")
        #expect(redactor.redact("export DEPLOY_TOKEN=s3cr3tValue99 && make") == "export DEPLOY_TOKEN=[REDACTED] && make")
        #expect(redactor.redact("db_password: 'hunter2hunter2'") == "db_password: '[REDACTED]'")
        #expect(redactor.redact("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") == "aws_secret_access_key = [REDACTED]")
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
        #expect(redactor.redact("key:\n\(key)\ndone") == "key:\n[REDACTED private key]\ndone")
        #expect(redactor.redact(#"    secret-key = "M4SM>H{J=OwYkgyZW.(p(<>GL>N<]/xOFldeRTwv""#) == #"    secret-key = "[REDACTED]""#)
    }

    @Test func ordinaryTextIsLeftAlone() {
        for text in [
            "max_tokens: 4096", #"{"tokens":123,"usage":{"input_tokens":10}}"#, "the token was refreshed", "password policy: 12 chars",
            "task-runner and disk-usage", "tokens=1200000 used", "see secrets.md", "",
        ] {
            #expect(redactor.redact(text) == text, "\(text)")
        }
    }

    @Test func knownSecretsAreTakenOutByValue() {
        let redactor = Redactor(knownSecrets: ["plain-looking-value-42", "short"])
        #expect(redactor.knownSecrets == ["plain-looking-value-42"], "too short to be treated as a secret")
        #expect(redactor.redact("connect with plain-looking-value-42 now") == "connect with [REDACTED] now")
        let secrets = Redactor.secrets(
            in: [
                "OPENAI_API_KEY": "sk-test-value-1", "MY_SERVICE_TOKEN": "abcdefgh12", "CUSTOM": "custom-value-9", "PATH": "/usr/bin:/bin",
                "SHORT_TOKEN": "abc",
            ],
            names: ["CUSTOM"]
        )
        #expect(Set(secrets) == ["sk-test-value-1", "abcdefgh12", "custom-value-9"])
    }

    /// A frame of JSON stays JSON, whatever the secret's surroundings: quotes, escapes, newlines.
    @Test func jsonTextStaysValidAndLosesItsSecrets() throws {
        struct Body: Codable, Equatable { var text: String; var lines: [String] }
        let secret = "ghp_0123456789abcdefghijABCDEFGHIJklmnop"
        let body = Body(
            text: "token=\"\(secret)\"\n\tpassword: \\\(secret)\\ and 'API_KEY=\(secret)'",
            lines: [
                "Bearer \(secret)", "PRIVATE_KEY=\(secret)", "-----BEGIN RSA PRIVATE KEY-----\n\"x\\y\"\n-----END RSA PRIVATE KEY-----",
            ]
        )
        let data = try JSONEncoder().encode(body)
        let redacted = redactor.redact(data)
        let text = String(decoding: redacted, as: UTF8.self)
        #expect(!text.contains(secret) && !text.contains("x\\\\y"), "\(text)")
        let decoded = try JSONDecoder().decode(Body.self, from: redacted)
        #expect(decoded.lines[0] == "Bearer [REDACTED]" && decoded.lines[2] == "[REDACTED private key]")
        // Nothing to take out: the very same bytes.
        let clean = try JSONEncoder().encode(Body(text: "all good", lines: []))
        #expect(redactor.redact(clean) == clean)
    }
}

@Suite struct SecretsInDescriptionsTests {
    @Test func aRedactorAndAKeyNeverPrintTheirSecrets() throws {
        let redactor = Redactor(knownSecrets: ["very-secret-value-1"])
        struct Holder { var redactor: Redactor }
        for text in [
            "\(redactor)", String(reflecting: redactor), "\(Holder(redactor: redactor))", String(reflecting: Holder(redactor: redactor)),
        ] {
            #expect(!text.contains("very-secret-value-1"), "\(text)")
        }
        let pair = try CurveKey.pair()
        let security = SocketSecurity.curveClient(pair, server: pair.publicKey)
        for text in ["\(pair)", String(reflecting: pair), "\(security)", String(reflecting: security)] {
            #expect(!text.contains(pair.secretKey.z85), "\(text)")
        }
    }
}
